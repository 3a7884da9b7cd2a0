/**
 * The instances' own words about a submission: the lines of their logs (JSON, one object a line) that
 * name it, with file and line number, and the harness's kill and restart marks in between, so a finding
 * can be followed in the logs.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface LogLine {
  /** `instance-2.log:1234` */
  where: string;
  time: string;
  text: string;
}

interface Indexed {
  file: string;
  lines: string[];
}

export class InstanceLogs {
  private readonly files: Indexed[];

  constructor(paths: readonly string[]) {
    this.files = paths.map((path) => {
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        text = '';
      }
      return { file: basename(path), lines: text.split('\n') };
    });
  }

  /**
   * Lines naming the submission (info and above), in time order, with the harness's marks (start,
   * SIGKILL, SIGTERM) of the same file from the one before its first line to the one after its last.
   */
  about(submissionId: string, limit = 14): LogLine[] {
    const found: LogLine[] = [];
    for (const { file, lines } of this.files) {
      const marks: LogLine[] = [];
      const named: LogLine[] = [];
      lines.forEach((line, index) => {
        const where = `${file}:${index + 1}`;
        if (line.startsWith('=== chaos:')) {
          marks.push({ where, time: line.slice(11, 35), text: line.slice(11) });
          return;
        }
        if (!line.includes(submissionId)) return;
        const entry = compact(line);
        if (entry === undefined || entry.level === 'debug') return;
        named.push({ where, time: entry.time, text: `${entry.level} ${entry.text}` });
      });
      const first = named[0]?.time;
      const last = named.at(-1)?.time;
      if (first === undefined || last === undefined) continue;
      const before = marks.filter((m) => m.time <= first).at(-1);
      const after = marks.find((m) => m.time > last);
      found.push(
        ...named,
        ...marks.filter((m) => m === before || m === after || (m.time > first && m.time <= last)),
      );
    }
    found.sort((a, b) => a.time.localeCompare(b.time));
    if (found.length <= limit) return found;
    // Too many: every mark stays (kills explain most findings); lines go from the middle.
    const isMark = (line: LogLine) => !/^(debug|info|warn|error) /.test(line.text);
    const room = Math.max(2, limit - found.filter(isMark).length);
    const named = found.filter((line) => !isMark(line));
    const keep = new Set([...named.slice(0, Math.ceil(room / 2)), ...named.slice(-Math.floor(room / 2))]);
    return found.filter((line) => isMark(line) || keep.has(line));
  }

  /** Every line at warn or error, counted by message, for the report. */
  problems(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { lines } of this.files) {
      for (const line of lines) {
        const entry = compact(line);
        if (entry === undefined || (entry.level !== 'warn' && entry.level !== 'error')) continue;
        const key = `${entry.level} ${entry.message}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
    }
    return counts;
  }
}

function compact(line: string): { level: string; time: string; message: string; text: string } | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { level, message, timestamp, submissionId: _s, evaluationId: _e, ...rest } = entry;
  const extras = Object.entries(rest)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const text = `${String(message)}${extras === '' ? '' : ` (${extras})`}`;
  return {
    level: String(level),
    time: String(timestamp),
    message: String(message),
    text: text.length > 400 ? `${text.slice(0, 400)}…` : text,
  };
}
