import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

// CONTRACT.md §5: configuration is environment only, validated at start; a bad value is one line naming it. A variable
// that is set but empty is a bad value too, except GATEHOUSE_ADMIN_KEY, where empty has always meant unset.

/** Asserts loadConfig(env) throws a ConfigError whose one-line message names `variable`. */
function rejects(env: Record<string, string>, variable: string): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(caught)}`);
  assert.ok(caught.message.includes(variable), `message names ${variable}: ${caught.message}`);
  assert.ok(!/[\r\n]/.test(caught.message), `one line: ${JSON.stringify(caught.message)}`);
  assert.ok(caught.message.trim().length > variable.length, 'says more than the name');
  return caught;
}

describe('loadConfig defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.databaseUrl, 'sqlite:./data/gatehouse.db');
    assert.equal(config.adminKey, null);
    assert.equal(config.maxApiKeys, 1000);
    assert.equal(config.accessTokenTtlSeconds, 900);
    assert.equal(config.logLevel, 'info');
  });

  test('an empty GATEHOUSE_ADMIN_KEY means "unset" (and only that variable: see below)', () => {
    const config = loadConfig({ GATEHOUSE_ADMIN_KEY: '' });
    assert.equal(config.adminKey, null);
  });

  test('the returned object is frozen', () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.equal(config.port, 8000);
  });

  test('it reads the given environment, not process.env', () => {
    const saved = process.env.PORT;
    process.env.PORT = '9999';
    try {
      assert.equal(loadConfig({}).port, 8000);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});

describe('loadConfig accepts valid values', () => {
  test('every variable is read', () => {
    const key = 'k'.repeat(32);
    const config = loadConfig({
      PORT: '8123',
      HOST: '0.0.0.0',
      DATABASE_URL: 'sqlite::memory:',
      GATEHOUSE_ADMIN_KEY: key,
      GATEHOUSE_MAX_API_KEYS: '5',
      GATEHOUSE_ISSUER: 'https://id.example.com',
      GATEHOUSE_ACCESS_TOKEN_TTL: '600',
      GATEHOUSE_LOG_LEVEL: 'warn',
    });
    assert.equal(config.port, 8123);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.databaseUrl, 'sqlite::memory:');
    assert.equal(config.adminKey, key);
    assert.equal(config.maxApiKeys, 5);
    assert.equal(config.issuer, 'https://id.example.com');
    assert.equal(config.accessTokenTtlSeconds, 600);
    assert.equal(config.logLevel, 'warn');
  });

  test('an admin key of exactly 32 characters is enough', () => {
    assert.equal(loadConfig({ GATEHOUSE_ADMIN_KEY: 'x'.repeat(32) }).adminKey, 'x'.repeat(32));
  });

  test('sqlite file, sqlite memory and postgres URLs are accepted', () => {
    for (const url of ['sqlite:./data/other.db', 'sqlite:///tmp/g.db', 'sqlite::memory:', 'postgres://u:p@db.example:5432/gatehouse', 'postgresql://db/g']) {
      assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
    }
  });

  test('the documented log levels are accepted', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
      assert.equal(loadConfig({ GATEHOUSE_LOG_LEVEL: level }).logLevel, level);
    }
  });
});

describe('loadConfig refuses bad values with one line naming the variable', () => {
  test('an admin key shorter than 32 characters, without echoing it', () => {
    const short = 'short-secret-0123456789abcdefgh'; // 31 characters
    assert.equal(short.length, 31);
    const err = rejects({ GATEHOUSE_ADMIN_KEY: short }, 'GATEHOUSE_ADMIN_KEY');
    assert.ok(!err.message.includes(short), 'the key is a secret and never printed');
    rejects({ GATEHOUSE_ADMIN_KEY: 'x' }, 'GATEHOUSE_ADMIN_KEY');
  });

  test('PORT that is not a number', () => {
    rejects({ PORT: 'abc' }, 'PORT');
    rejects({ PORT: '80.5' }, 'PORT');
    rejects({ PORT: '-1' }, 'PORT');
    rejects({ PORT: '8000abc' }, 'PORT');
  });

  test('PORT out of range', () => {
    rejects({ PORT: '70000' }, 'PORT');
    rejects({ PORT: '65536' }, 'PORT');
  });

  test('DATABASE_URL with an unsupported scheme', () => {
    rejects({ DATABASE_URL: 'mysql://localhost/gatehouse' }, 'DATABASE_URL');
    rejects({ DATABASE_URL: './data/gatehouse.db' }, 'DATABASE_URL');
    rejects({ DATABASE_URL: 'sqlite:' }, 'DATABASE_URL');
  });

  test('an unknown log level', () => {
    rejects({ GATEHOUSE_LOG_LEVEL: 'loud' }, 'GATEHOUSE_LOG_LEVEL');
    rejects({ GATEHOUSE_LOG_LEVEL: 'verbose' }, 'GATEHOUSE_LOG_LEVEL');
  });

  test('GATEHOUSE_MAX_API_KEYS and GATEHOUSE_ACCESS_TOKEN_TTL must be whole numbers', () => {
    rejects({ GATEHOUSE_MAX_API_KEYS: 'lots' }, 'GATEHOUSE_MAX_API_KEYS');
    rejects({ GATEHOUSE_MAX_API_KEYS: '-5' }, 'GATEHOUSE_MAX_API_KEYS');
    rejects({ GATEHOUSE_ACCESS_TOKEN_TTL: 'fifteen minutes' }, 'GATEHOUSE_ACCESS_TOKEN_TTL');
  });

  test('GATEHOUSE_ISSUER that is not a URL', () => {
    rejects({ GATEHOUSE_ISSUER: 'not a url' }, 'GATEHOUSE_ISSUER');
  });

  test('a variable that is set but empty (or blank) is refused, not taken as the default', () => {
    // `PORT=` used to start on 8000: a typo or an unfilled template must stop the server instead.
    const variables = [
      'PORT',
      'HOST',
      'DATABASE_URL',
      'GATEHOUSE_MAX_API_KEYS',
      'GATEHOUSE_ISSUER',
      'GATEHOUSE_SIGNING_ALG',
      'GATEHOUSE_SESSION_TTL',
      'GATEHOUSE_ACCESS_TOKEN_TTL',
      'GATEHOUSE_AUDIENCE',
      'GATEHOUSE_REFRESH_TOKEN_TTL',
      'GATEHOUSE_TEMPORARY_PASSWORD_TTL',
      'GATEHOUSE_LOCKOUT_THRESHOLD',
      'GATEHOUSE_LOCKOUT_WINDOW',
      'GATEHOUSE_LOCKOUT_DURATION',
      'GATEHOUSE_AUTH_RATE_LIMIT',
      'GATEHOUSE_TRUST_PROXY',
      'GATEHOUSE_DB_POOL_SIZE',
      'GATEHOUSE_AUTH_CACHE_TTL_MS',
      'GATEHOUSE_CORS_ORIGINS',
      'GATEHOUSE_REQUEST_TIMEOUT_MS',
      'GATEHOUSE_LOG_LEVEL',
      'GATEHOUSE_LOG_FORMAT',
      'GATEHOUSE_METRICS_PORT',
      'GATEHOUSE_METRICS_TOKEN',
    ];
    for (const name of variables) {
      for (const empty of ['', '   ', '\t']) {
        const err = rejects({ [name]: empty }, name);
        assert.match(err.message, /empty/, `${name}=${JSON.stringify(empty)}: ${err.message}`);
      }
    }
    rejects({ GATEHOUSE_CORS_ORIGINS: ' , ' }, 'GATEHOUSE_CORS_ORIGINS');
  });

  test('HOST must be an IP address or a host name', () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '::', '::1', 'fe80::1', 'localhost', 'gatehouse', 'id.example.com', 'db-1.internal.', 'a'.repeat(63)]) {
      assert.equal(loadConfig({ HOST: host }).host, host, host);
    }
    assert.equal(loadConfig({ HOST: '  0.0.0.0 ' }).host, '0.0.0.0', 'surrounding blanks are trimmed');
    for (const host of ['not a host', 'http://127.0.0.1', '127.0.0.1:8000', '[::1]', 'under_score', '-leading', 'trailing-', 'a..b', '300.1.1.1', '127.1', 'a'.repeat(64), 'host\nname']) {
      rejects({ HOST: host }, 'HOST');
    }
  });

  test('a value with a line break in it is still reported on one line', () => {
    rejects({ PORT: '80\n80' }, 'PORT');
    rejects({ GATEHOUSE_TRUST_PROXY: 'yes\nno' }, 'GATEHOUSE_TRUST_PROXY');
    rejects({ GATEHOUSE_ISSUER: 'https://x\ny' }, 'GATEHOUSE_ISSUER');
  });
});

describe('logs and metrics settings', () => {
  test('defaults: JSON logs, /metrics public on the API port', () => {
    const config = loadConfig({});
    assert.equal(config.logFormat, 'json');
    assert.equal(config.metricsPort, null);
    assert.equal(config.metricsToken, null);
  });

  test('GATEHOUSE_LOG_FORMAT is json or pretty (any case)', () => {
    assert.equal(loadConfig({ GATEHOUSE_LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.equal(loadConfig({ GATEHOUSE_LOG_FORMAT: 'JSON' }).logFormat, 'json');
    for (const bad of ['text', 'pino-pretty', 'yes', 'json,pretty']) {
      const err = rejects({ GATEHOUSE_LOG_FORMAT: bad }, 'GATEHOUSE_LOG_FORMAT');
      assert.match(err.message, /json or pretty/);
    }
  });

  test('GATEHOUSE_METRICS_PORT is a port (0 for any free one) other than PORT', () => {
    assert.equal(loadConfig({ GATEHOUSE_METRICS_PORT: '9464' }).metricsPort, 9464);
    assert.equal(loadConfig({ GATEHOUSE_METRICS_PORT: '0' }).metricsPort, 0);
    assert.equal(loadConfig({ PORT: '0', GATEHOUSE_METRICS_PORT: '0' }).metricsPort, 0);
    for (const bad of ['metrics', '9464a', '-1', '65536', '1e3']) rejects({ GATEHOUSE_METRICS_PORT: bad }, 'GATEHOUSE_METRICS_PORT');
    const same = rejects({ PORT: '8000', GATEHOUSE_METRICS_PORT: '8000' }, 'GATEHOUSE_METRICS_PORT');
    assert.match(same.message, /differ from PORT/);
    rejects({ GATEHOUSE_METRICS_PORT: '8000' }, 'GATEHOUSE_METRICS_PORT'); // PORT's default
  });

  test('GATEHOUSE_METRICS_TOKEN needs 16+ printable characters, and is never echoed', () => {
    const token = 'metrics-token-0123456789';
    assert.equal(loadConfig({ GATEHOUSE_METRICS_TOKEN: token }).metricsToken, token);
    assert.equal(loadConfig({ GATEHOUSE_METRICS_TOKEN: 'x'.repeat(16) }).metricsToken, 'x'.repeat(16));
    for (const bad of ['x'.repeat(15), 'has a space in it 0123', 'tab\there-0123456789', 'line\nbreak-0123456789', ' padded-token-0123456789']) {
      const err = rejects({ GATEHOUSE_METRICS_TOKEN: bad }, 'GATEHOUSE_METRICS_TOKEN');
      assert.ok(!err.message.includes(bad.trim()), `the token is not echoed: ${err.message}`);
    }
    assert.match(rejects({ GATEHOUSE_METRICS_TOKEN: 'x'.repeat(15) }, 'GATEHOUSE_METRICS_TOKEN').message, /at least 16 characters/);
    assert.match(rejects({ GATEHOUSE_METRICS_TOKEN: 'tëst-token-0123456789' }, 'GATEHOUSE_METRICS_TOKEN').message, /printable ASCII/);
  });
});

describe('GATEHOUSE_AUDIT_RETENTION_DAYS', () => {
  test('unset keeps every event; a number of days is taken as given', () => {
    assert.equal(loadConfig({}).auditRetentionDays, null);
    assert.equal(loadConfig({ GATEHOUSE_AUDIT_RETENTION_DAYS: '365' }).auditRetentionDays, 365);
  });

  test('zero, negative, fractional, huge or empty values stop the start, naming the variable', () => {
    for (const bad of ['0', '-1', '1.5', '36501', '', 'forever']) rejects({ GATEHOUSE_AUDIT_RETENTION_DAYS: bad }, 'GATEHOUSE_AUDIT_RETENTION_DAYS');
  });
});

describe('GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD', () => {
  const password = 'Amber-Falcon-93-Meadow';

  test('unset: no bootstrap administrator', () => {
    assert.equal(loadConfig({}).bootstrapAdmin, null);
  });

  test('both set: the email normalised, the password as written', () => {
    const config = loadConfig({ GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ' First.Admin@Example.COM ', GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ` ${password}` });
    assert.deepEqual(config.bootstrapAdmin, { email: 'first.admin@example.com', password: ` ${password}` });
  });

  test('one without the other is refused', () => {
    rejects({ GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com' }, 'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD');
    const err = rejects({ GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: password }, 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL');
    assert.ok(!err.message.includes(password));
  });

  test('an email that is not one, or empty', () => {
    rejects({ GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'admin', GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: password }, 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL');
    rejects({ GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: '  ', GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: password }, 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL');
  });

  test('a password the policy refuses: says what the policy wants, never the password', () => {
    for (const weak of ['short-1A', 'alllowercase-1234', 'Password1234!', '   ']) {
      const err = rejects({ GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com', GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: weak }, 'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD');
      if (weak.trim() !== '') assert.ok(!err.message.includes(weak), `the password is not shown: ${err.message}`);
    }
    const err = rejects({ GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com', GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: 'short-1A' }, 'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD');
    assert.match(err.message, /does not pass the password policy: Password must have at least 12 characters/);
  });
});
