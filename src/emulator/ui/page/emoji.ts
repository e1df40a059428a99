/** The emoji codes jobq and its tests use, and Slack's three HTML entities. */

const EMOJI: Record<string, string> = {
  white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', warning: '⚠️', tada: '🎉', lock: '🔒', unlock: '🔓',
  grey_question: '❔', question: '❓', no_entry_sign: '🚫', no_entry: '⛔', octagonal_sign: '🛑', stop_sign: '🛑',
  hourglass_flowing_sand: '⏳', hourglass: '⌛', arrows_counterclockwise: '🔄', repeat: '🔁', rotating_light: '🚨',
  red_circle: '🔴', large_green_circle: '🟢', green_circle: '🟢', large_yellow_circle: '🟡', yellow_circle: '🟡',
  white_circle: '⚪', large_blue_circle: '🔵', information_source: 'ℹ️', bell: '🔔', no_bell: '🔕', mag: '🔍',
  book: '📖', open_book: '📖', books: '📚', memo: '📝', clipboard: '📋', calendar: '📅', clock1: '🕐', stopwatch: '⏱️',
  fire: '🔥', skull: '💀', ghost: '👻', zzz: '💤', wastebasket: '🗑️', broom: '🧹', wrench: '🔧', gear: '⚙️',
  hammer_and_wrench: '🛠️', chart_with_upwards_trend: '📈', chart_with_downwards_trend: '📉', bar_chart: '📊',
  eyes: '👀', thumbsup: '👍', '+1': '👍', thumbsdown: '👎', '-1': '👎', wave: '👋', robot_face: '🤖', rocket: '🚀',
  bulb: '💡', heavy_plus_sign: '➕', heavy_minus_sign: '➖', arrow_right: '➡️', arrow_up: '⬆️', arrow_down: '⬇️',
  small_red_triangle_down: '🔻', small_red_triangle: '🔺', pause_button: '⏸️', play_or_pause_button: '⏯️',
  arrow_forward: '▶️', fast_forward: '⏩', busts_in_silhouette: '👥', bust_in_silhouette: '👤', package: '📦',
  inbox_tray: '📥', outbox_tray: '📤', link: '🔗', pushpin: '📌', sos: '🆘', construction: '🚧', shield: '🛡️',
  ok: '🆗', new: '🆕', white_medium_square: '◻️', black_medium_square: '◼️', large_orange_circle: '🟠',
  heavy_exclamation_mark: '❗', exclamation: '❗', grey_exclamation: '❕', boom: '💥', sparkles: '✨', snail: '🐌',
  house: '🏠', house_with_garden: '🏡', hourglass_done: '⌛', traffic_light: '🚥', vertical_traffic_light: '🚦',
};

/** One emoji by name, or the `:name:` code itself when it is not known. */
export function emoji(name: string): string {
  return EMOJI[name] ?? `:${name}:`;
}

export function emojize(text: string): string {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => EMOJI[name] ?? whole);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>' };

/** Slack escapes only these three; decoding happens after parsing, so &lt;b&gt; stays text. */
export function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_, name: string) => ENTITIES[name] ?? '');
}
