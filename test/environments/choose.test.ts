import { describe, expect, it } from 'vitest';
import { chooseEnvironment, takeEnvFlag } from '../../src/environments/choose.js';

const envs = [
  { name: 'prod', channels: ['C0BILLING'] },
  { name: 'staging', channels: [] },
];

describe('choosing an environment', () => {
  it('takes --env from anywhere in the words, in both spellings', () => {
    expect(takeEnvFlag(['--env', 'staging', 'stats'])).toEqual({ env: 'staging', rest: ['stats'] });
    expect(takeEnvFlag(['failed', '--queue', 'emails', '--env=prod'])).toEqual({ env: 'prod', rest: ['failed', '--queue', 'emails'] });
    expect(takeEnvFlag(['stats'])).toEqual({ env: null, rest: ['stats'] });
    expect(() => takeEnvFlag(['stats', '--env'])).toThrow(/--env takes the name of an environment/);
    expect(() => takeEnvFlag(['--env', 'a', 'stats', '--env', 'b'])).toThrow(/--env given twice/);
  });

  it('follows the flag, then the channel binding, then the only environment', () => {
    expect(chooseEnvironment(envs, 'staging', 'C0BILLING', true)).toEqual({ kind: 'one', env: envs[1] });
    expect(chooseEnvironment(envs, null, 'C0BILLING', true)).toEqual({ kind: 'one', env: envs[0] });
    expect(chooseEnvironment([envs[1]!], null, 'C0OTHER', true)).toEqual({ kind: 'one', env: envs[1] });
  });

  it('answers a read for every environment, and refuses a change, when neither says which', () => {
    expect(chooseEnvironment(envs, null, 'C0OTHER', false)).toEqual({ kind: 'all', envs });
    expect(() => chooseEnvironment(envs, null, 'C0OTHER', true)).toThrow(/serves 2 environments \(prod, staging\): add --env NAME/);
    expect(() => chooseEnvironment(envs, 'qa', null, false)).toThrow(/There is no environment "qa". Environments: prod, staging/);
  });
});
