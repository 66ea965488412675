// The test-only protocol limits of `wgp2p up` must not be honoured in production.
import t from 'tap';
import { testLimits } from '../up.js';

t.test('WGP2P_TEST_* limits need NODE_ENV=test and WGP2P_TEST_HOOKS=1', async (t) => {
  const knobs = { WGP2P_TEST_REKEY_AFTER_TIME_MS: '2000', WGP2P_TEST_REJECT_AFTER_MESSAGES: '10' };
  const warnings: string[] = [];
  t.same(testLimits({ ...knobs }, (m) => warnings.push(m)), {}, 'ignored in a production environment');
  t.match(warnings[0], /ignoring WGP2P_TEST_REKEY_AFTER_TIME_MS, WGP2P_TEST_REJECT_AFTER_MESSAGES/);
  t.same(testLimits({ ...knobs, NODE_ENV: 'test' }), {}, 'NODE_ENV=test alone is not enough');
  t.same(testLimits({ ...knobs, WGP2P_TEST_HOOKS: '1' }), {}, 'nor the hook switch alone');
  t.same(testLimits({ ...knobs, NODE_ENV: 'test', WGP2P_TEST_HOOKS: '1' }), { rekeyAfterTime: 2000, rejectAfterMessages: 10 }, 'honoured with both');
});
