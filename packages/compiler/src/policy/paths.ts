/**
 * Config paths as printed in findings: `environments.prod.extend.service.overrides["aws_lb.main"].internal`.
 * A key that is not a plain name (an address with a dot) is written in brackets, so the path can
 * be read back into segments to locate it in the source.
 */

export type PathSegment = string | number;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const seg of segments) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** The inverse of {@link formatPath}; also reads plain `a.b[0]` paths. */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|([^.[\]]+)/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else out.push(m[3]!);
  }
  return out;
}
