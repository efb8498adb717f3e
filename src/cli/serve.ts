import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { envWith } from './context.ts';
import { CliError, EXIT } from './exit-codes.ts';

/** Each flag of `serve` and the variable it overrides: a flag wins over its variable. */
const SERVE_FLAGS = {
  port: { flag: '--port', value: '<port>', variable: 'PORT' },
  host: { flag: '--host', value: '<address>', variable: 'HOST' },
  databaseUrl: { flag: '--database-url', value: '<url>', variable: 'DATABASE_URL' },
  issuer: { flag: '--issuer', value: '<url>', variable: 'GATEHOUSE_ISSUER' },
  logLevel: { flag: '--log-level', value: '<level>', variable: 'GATEHOUSE_LOG_LEVEL' },
  logFormat: { flag: '--log-format', value: '<json|pretty>', variable: 'GATEHOUSE_LOG_FORMAT' },
  metricsPort: { flag: '--metrics-port', value: '<port>', variable: 'GATEHOUSE_METRICS_PORT' },
} as const;

type ServeOptions = Partial<Record<keyof typeof SERVE_FLAGS, string>>;

/** The environment the server starts with: this process's, with the flags given applied over it. */
export function serveEnv(options: ServeOptions, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const overrides: Record<string, string | undefined> = {};
  for (const [key, { variable }] of Object.entries(SERVE_FLAGS)) overrides[variable] = options[key as keyof ServeOptions];
  return envWith(overrides, env);
}

/**
 * A bad flag value is a usage error (exit 2) naming the flag; a bad environment is left to the server, which stops
 * with exit code 1 and one line naming the variable, as it always has.
 */
function checkFlags(options: ServeOptions, env: Record<string, string | undefined>): void {
  try {
    loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const [key, { flag, variable }] of Object.entries(SERVE_FLAGS)) {
      if (options[key as keyof ServeOptions] !== undefined && err.message.startsWith(variable)) {
        const detail = err.message.slice(variable.length).replace(/^[:\s]+/, '');
        // src/cli.ts blots out the database password when it prints this.
        throw new CliError(`${flag} (${variable}): ${detail}`, EXIT.usage);
      }
    }
  }
}

export function serveCommand(): Command {
  const serve = new Command('serve').description('run the server (the default when no command is given); configuration from the environment, flags override it');
  for (const { flag, value, variable } of Object.values(SERVE_FLAGS)) serve.addOption(new Option(`${flag} ${value}`, `overrides ${variable} (see the README's Configuration)`));
  serve.action(async (options: ServeOptions) => {
    const env = serveEnv(options);
    checkFlags(options, env);
    // The HTTP server is loaded only to serve: the other commands start faster and need none of it.
    const { runServer } = await import('../server.ts');
    await runServer(env);
  });
  return serve;
}
