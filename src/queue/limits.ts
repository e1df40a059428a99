/**
 * Limits a queue operation enforces that the command grammar checks too, so a typed command is
 * refused with its usage line. Kept apart from the operations: parsing a command (and `--help`)
 * loads none of the queue core or the database driver.
 */

/** The longest silence: a month, after which a muted alert should be fixed or turned off. */
export const MUTE_MAX_SECONDS = 30 * 86_400;
