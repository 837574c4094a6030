/**
 * Checks a parsed JSON config (after `${ENV}` substitution) against the plugin tables and
 * returns the resolved {@link WalshipConfig}, or throws one `WALSHIP_INVALID_CONFIG` error
 * listing every problem found.
 */
import { basename, extname, join, resolve } from 'node:path';
import { isWalshipError } from '../errors.ts';
import '../sinks/builtin.ts';
import { sinkTypes } from '../sinks/registry.ts';
import { resolveFileInputOptions, resolveStdinInputOptions } from '../inputs/options.ts';
import { type FileSinkOptions, resolveFileSinkOptions } from '../sinks/file/file-sink-options.ts';
import { resolveHttpSinkOptions } from '../sinks/http/http-sink-options.ts';
import { type NatsSinkOptions, resolveNatsSinkOptions } from '../sinks/nats/nats-sink-options.ts';
import { type RedisSinkOptions, resolveRedisSinkOptions } from '../sinks/redis/redis-sink-options.ts';
import { resolveStdoutSinkOptions, type StdoutSinkOptions } from '../sinks/stdout/stdout-sink-options.ts';
import { type ConfigProblem, configError, describeValue } from './config-error.ts';
import type { AggregatorConfig, FlusherConfig, InputConfig, WalshipConfig } from './config-types.ts';
import {
  DEFAULT_ADMIN_HOST,
  DEFAULT_ADMIN_PORT,
  DEFAULT_CLI_WAL_DIR,
  DEFAULT_MODE_WAIT_RETRY_MS,
  DEFAULT_RETRY_MIN_DELAY_MS,
  DEFAULT_STOP_TIMEOUT_MS,
} from './defaults.ts';
import { childPath } from './env.ts';
import {
  AGGREGATOR_TYPES,
  FLUSHER_COMMON_FIELDS,
  FLUSHER_TYPES,
  type FlusherFieldTarget,
  GLOBAL_FIELDS,
  INPUT_TYPES,
  LOG_LEVELS,
  type LogLevel,
  METRICS_FIELDS,
  type PluginType,
  WAL_FIELDS,
} from './plugins.ts';
import { checkFields, checkValue, type FieldTable, optionName } from './schema.ts';

/** The top-level sections. */
const TOP_LEVEL = ['inputs', 'aggregators', 'flushers', 'wal', 'metrics', 'global', 'log_level'] as const;

export interface ValidateOptions {
  /** The config file (names the pipeline by default; shown in the error). */
  readonly source?: string;
  /** Relative paths (WAL dir, input paths) resolve against this. @defaultValue process.cwd() */
  readonly cwd?: string;
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A sink resolver's "Expected `x` to be …, got …" turned into a problem on the JSON field. */
function optionProblem(err: unknown, path: string, fields: FieldTable): ConfigProblem {
  const message = err instanceof Error ? err.message : String(err);
  const toJson = (option: string): string => {
    const [head, ...rest] = option.split('.');
    const json = Object.entries(fields).find(([k, s]) => optionName(k, s) === head)?.[0] ?? head ?? option;
    return [json, ...rest].join('.');
  };
  const m = /^Expected `([^`]+)` to be (.+), got (.+)$/s.exec(message);
  if (m !== null) return { path: childPath(path, toJson(m[1] as string)), expected: m[2] as string, got: m[3] as string };
  const named = /`([^`]+)`/.exec(message);
  return {
    path: named === null ? path : childPath(path, toJson(named[1] as string)),
    expected: 'settings that fit together',
    got: message,
  };
}

/** Runs a sink's own resolver; its complaint becomes a problem on the JSON field. */
function resolverCheck(type: string, resolve: (options: Obj) => unknown) {
  return (sink: Obj, path: string, problems: ConfigProblem[]): void => {
    try {
      resolve(sink);
    } catch (err) {
      if (!isWalshipError(err)) throw err;
      problems.push(optionProblem(err, path, FLUSHER_TYPES[type]?.fields ?? {}));
    }
  };
}

/** Per-sink checks the sink's own resolver does better than a table (cross-field rules). */
const SINK_CHECKS: Readonly<Record<string, (sink: Obj, path: string, problems: ConfigProblem[]) => void>> = {
  flusher_nats: resolverCheck('flusher_nats', (o) => resolveNatsSinkOptions(o as NatsSinkOptions)),
  flusher_redis: resolverCheck('flusher_redis', (o) => resolveRedisSinkOptions(o as RedisSinkOptions)),
  flusher_file: resolverCheck('flusher_file', (o) => resolveFileSinkOptions(o as unknown as FileSinkOptions)),
  flusher_stdout: resolverCheck('flusher_stdout', (o) => resolveStdoutSinkOptions(o as StdoutSinkOptions)),
  flusher_http: (sink, path, problems) => {
    const { url, hosts, ...rest } = sink;
    if ((url === undefined) === (hosts === undefined)) {
      problems.push({
        path: childPath(path, 'RemoteURL'),
        expected: 'either RemoteURL or Hosts (one of them)',
        got: url === undefined ? 'neither' : 'both',
      });
      return;
    }
    const list = (hosts ?? [url]) as unknown[];
    for (const host of list) {
      try {
        resolveHttpSinkOptions({ ...(rest as object), url: host as string });
      } catch (err) {
        if (!isWalshipError(err)) throw err;
        problems.push(optionProblem(err, path, FLUSHER_TYPES.flusher_http?.fields ?? {}));
        return;
      }
    }
  },
};

function checkTyped(
  value: unknown,
  path: string,
  types: Readonly<Record<string, PluginType>>,
  problems: ConfigProblem[],
  extra: FieldTable = {},
): { type: string; options: Obj } | undefined {
  if (!isObject(value)) {
    problems.push({ path, expected: 'an object with a "Type"', got: describeValue(value) });
    return undefined;
  }
  const type = value.Type;
  const spec = typeof type === 'string' ? types[type] : undefined;
  if (spec === undefined) {
    problems.push({
      path: childPath(path, 'Type'),
      expected: `one of ${Object.keys(types).map((t) => JSON.stringify(t)).join(', ')}`,
      got: type === undefined ? 'nothing (the field is required)' : describeValue(type),
    });
    return undefined;
  }
  const options = checkFields(value, { ...extra, ...spec.fields }, path, problems, ['Type']);
  return { type: type as string, options };
}

function checkList(root: Obj, key: string, problems: ConfigProblem[], min: number, max = Number.POSITIVE_INFINITY): unknown[] {
  const v = root[key];
  if (v === undefined && min === 0) return [];
  if (!Array.isArray(v) || v.length < min || v.length > max) {
    const range = max === Number.POSITIVE_INFINITY ? `at least ${min}` : min === max ? `exactly ${min}` : `${min} to ${max}`;
    problems.push({
      path: key,
      expected: `an array of ${range} ${key.replace(/s$/, '')} object${max === 1 ? '' : 's'}`,
      got: v === undefined ? 'nothing (the section is required)' : Array.isArray(v) ? `${v.length} entries` : describeValue(v),
    });
    return Array.isArray(v) ? v : [];
  }
  return v;
}

/** Checks a parsed config and resolves it; throws `WALSHIP_INVALID_CONFIG` with every problem. */
export function validateConfig(raw: unknown, options: ValidateOptions = {}): WalshipConfig {
  const problems: ConfigProblem[] = [];
  const cwd = options.cwd ?? process.cwd();
  if (!isObject(raw)) throw configError([{ path: '', expected: 'a JSON object', got: describeValue(raw) }], options.source);

  for (const key of Object.keys(raw)) {
    if (!(TOP_LEVEL as readonly string[]).includes(key)) {
      problems.push({ path: key, expected: `one of the sections ${TOP_LEVEL.join(', ')}`, got: `unknown section ${JSON.stringify(key)}` });
    }
  }

  const section = (key: string, fields: FieldTable): Obj => {
    const v = raw[key];
    if (v === undefined) return {};
    if (!isObject(v)) {
      problems.push({ path: key, expected: 'an object', got: describeValue(v) });
      return {};
    }
    return checkFields(v, fields, key, problems);
  };
  const wal = section('wal', WAL_FIELDS);
  const metrics = section('metrics', METRICS_FIELDS);
  const global = section('global', GLOBAL_FIELDS);
  let logLevel: LogLevel | undefined;
  if (raw.log_level !== undefined) {
    logLevel = checkValue(raw.log_level, { kind: 'enum', values: LOG_LEVELS }, 'log_level', problems) as LogLevel | undefined;
  }

  const configName =
    (global.configName as string | undefined) ??
    (options.source === undefined ? 'walship' : basename(options.source, extname(options.source)));
  const stopTimeoutMs = (global.stopTimeoutMs as number | undefined) ?? DEFAULT_STOP_TIMEOUT_MS;
  const { dir: walDirRaw, ...walTuning } = wal;
  const walDir = resolve(cwd, (walDirRaw as string | undefined) ?? DEFAULT_CLI_WAL_DIR);

  // ── aggregator (how the inputs pack groups) ──
  let aggregator: AggregatorConfig = { type: 'aggregator_default', groups: {} };
  const aggs = checkList(raw, 'aggregators', problems, 0, 1);
  if (aggs.length === 1) {
    const checked = checkTyped(aggs[0], 'aggregators[0]', AGGREGATOR_TYPES, problems);
    if (checked !== undefined) aggregator = { type: checked.type as AggregatorConfig['type'], groups: checked.options };
  }

  // ── inputs ──
  const inputs: InputConfig[] = [];
  let stdinCount = 0;
  checkList(raw, 'inputs', problems, 1).forEach((entry, i) => {
    const path = childPath('inputs', i);
    const before = problems.length;
    const checked = checkTyped(entry, path, INPUT_TYPES, problems);
    if (checked === undefined) return;
    if (checked.type === 'input_stdin' && ++stdinCount === 2) {
      problems.push({ path: childPath(path, 'Type'), expected: 'at most one input_stdin', got: 'a second one' });
    }
    const opts = { ...checked.options };
    if (typeof opts.path === 'string') opts.path = resolve(cwd, opts.path);
    const input = { ...opts, type: checked.type, groups: aggregator.groups } as InputConfig;
    if (problems.length === before) {
      // The input's own resolver catches what a table cannot (cross-field rules).
      try {
        if (input.type === 'input_file') resolveFileInputOptions(input);
        else resolveStdinInputOptions(input);
      } catch (err) {
        if (!isWalshipError(err)) throw err;
        problems.push(optionProblem(err, path, INPUT_TYPES[checked.type]?.fields ?? {}));
      }
    }
    inputs.push(input);
  });

  // ── flushers ──
  const registered = new Set(sinkTypes());
  const flushers: FlusherConfig[] = [];
  const names = new Map<string, number>();
  checkList(raw, 'flushers', problems, 1).forEach((entry, i) => {
    const path = childPath('flushers', i);
    const before = problems.length;
    const checked = checkTyped(entry, path, FLUSHER_TYPES, problems, FLUSHER_COMMON_FIELDS);
    if (checked === undefined) return;
    const short = checked.type.replace(/^flusher_/, '');
    if (!registered.has(short)) {
      problems.push({
        path: childPath(path, 'Type'),
        expected: `a flusher type this build includes (${[...registered].map((t) => `"flusher_${t}"`).join(', ')})`,
        got: JSON.stringify(checked.type),
      });
      return;
    }
    // Split by JSON field: flusher-level fields by target, the rest is the sink's (a sink
    // option may share a name with a flusher-level one, e.g. `timeoutMs`).
    const parts: Record<FlusherFieldTarget | 'sink', Obj> = { flusher: {}, mode: {}, modeOptions: {}, delivery: {}, wal: {}, sink: {} };
    const raw = entry as Obj;
    const typeFields = FLUSHER_TYPES[checked.type]?.fields ?? {};
    const quiet: ConfigProblem[] = []; // already reported by checkTyped
    for (const [json, spec] of Object.entries(FLUSHER_COMMON_FIELDS)) {
      if (!(json in raw) || json in typeFields) continue;
      const v = checkFields({ [json]: raw[json] }, { [json]: spec }, path, quiet)[optionName(json, spec)];
      if (v === undefined) continue;
      if (spec.target === 'wal') Object.assign(parts.wal, v as Obj);
      else parts[spec.target][optionName(json, spec)] = v;
    }
    const sinkRaw = Object.fromEntries(Object.entries(raw).filter(([k]) => k in typeFields));
    parts.sink = checkFields(sinkRaw, typeFields, path, quiet);
    const name = (parts.flusher.name as string | undefined) ?? `${short}-${i}`;
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..') {
      problems.push({ path: childPath(path, 'Name'), expected: 'letters, digits, ".", "_" or "-" (it names a directory)', got: JSON.stringify(name) });
    }
    const first = names.get(name);
    if (first !== undefined) {
      problems.push({ path: childPath(path, 'Name'), expected: `a name no other flusher has (flushers[${first}] is ${JSON.stringify(name)})`, got: JSON.stringify(name) });
    }
    names.set(name, i);
    // The sink's own resolver runs only on fields that passed the table.
    if (problems.length === before) SINK_CHECKS[checked.type]?.(parts.sink, path, problems);

    // Against the value in effect (given or default), as the mode and the manager check it.
    const mo = parts.modeOptions;
    const waitRetryMs = typeof mo.waitRetryMs === 'number' ? mo.waitRetryMs : DEFAULT_MODE_WAIT_RETRY_MS;
    if (typeof mo.maxWaitRetryMs === 'number' && mo.maxWaitRetryMs < waitRetryMs) {
      const which = typeof mo.waitRetryMs === 'number' ? 'WaitRetryMs' : 'WaitRetryMs, by default';
      problems.push({ path: childPath(path, 'MaxWaitRetryMs'), expected: `at least ${which} (${waitRetryMs} ms)`, got: `${mo.maxWaitRetryMs} ms` });
    }
    const d = parts.delivery;
    const retryMinDelayMs = typeof d.retryMinDelayMs === 'number' ? d.retryMinDelayMs : DEFAULT_RETRY_MIN_DELAY_MS;
    if (typeof d.retryMaxDelayMs === 'number' && d.retryMaxDelayMs < retryMinDelayMs) {
      const which = typeof d.retryMinDelayMs === 'number' ? 'RetryMinDelayMs' : 'RetryMinDelayMs, by default';
      problems.push({ path: childPath(path, 'RetryMaxDelayMs'), expected: `at least ${which} (${retryMinDelayMs} ms)`, got: `${d.retryMaxDelayMs} ms` });
    }
    // NATS is one client over all its servers: `single` is its mode whatever their number.
    const hosts = Array.isArray(parts.sink.hosts) ? parts.sink.hosts.length : 1;
    if (parts.mode.mode === 'single' && hosts > 1) {
      problems.push({ path: childPath(path, 'Mode'), expected: `"failover" or "loadbalance" with ${hosts} hosts`, got: '"single"' });
    }
    flushers.push({
      name,
      dir: join(walDir, name),
      sink: { ...parts.sink, type: short },
      ...(parts.mode.mode === undefined ? {} : { mode: parts.mode.mode as FlusherConfig['mode'] & string }),
      modeOptions: mo,
      delivery: d,
      wal: { ...walTuning, ...parts.wal },
      ...(parts.flusher.whenFull === undefined ? {} : { whenFull: parts.flusher.whenFull as 'block' | 'reject' }),
      stopTimeoutMs: (parts.flusher.stopTimeoutMs as number | undefined) ?? stopTimeoutMs,
    });
  });

  if (problems.length > 0) throw configError(problems, options.source);
  return {
    source: options.source === undefined ? undefined : resolve(cwd, options.source),
    configName,
    project: (global.project as string | undefined) ?? '',
    logstore: (global.logstore as string | undefined) ?? configName,
    stopTimeoutMs,
    logLevel,
    metrics: { port: (metrics.port as number | undefined) ?? DEFAULT_ADMIN_PORT, host: (metrics.host as string | undefined) ?? DEFAULT_ADMIN_HOST },
    walDir,
    inputs,
    aggregator,
    flushers,
  };
}
