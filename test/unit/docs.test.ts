import { configReference, envSchema } from '../../lambdas/core/config.js';
import { committed, generatedDocs } from '../../scripts/generated-docs.js';

describe('docs/configuration.md', () => {
  it('is exactly what `npm run docs` generates from the config schema', () => {
    expect(committed('docs/configuration.md')).toBe(generatedDocs().get('docs/configuration.md'));
  });

  it('has a row with a default, a rule and a meaning for every variable the schema reads', () => {
    const rows = configReference();
    expect(rows.map((row) => row.variable).sort()).toEqual(Object.keys(envSchema.shape).sort());
    for (const row of rows) {
      expect([row.variable, row.default.length > 0, row.rule.length > 0, row.meaning.length > 0]).toEqual([
        row.variable,
        true,
        true,
        true,
      ]);
    }
  });

  it('shows the schema default where no words replace it', () => {
    const row = (name: string) => configReference().find((entry) => entry.variable === name);
    expect(row('HIPOCHAT_LISTEN_PORT')).toMatchObject({
      default: '`8888`',
      rule: 'an integer from 0 to 65535',
    });
    expect(row('HIPOCHAT_AMQP_NAMESPACE')?.default).toBe('`hipochat`');
    expect(row('HIPOCHAT_CLOSED_ROOMS')?.default).toBe('empty');
  });
});

describe('every generated page of docs/', () => {
  it.each([...generatedDocs().keys()])('%s matches its generator', (path) => {
    expect(committed(path)).toBe(generatedDocs().get(path));
  });
});
