"""The report page's inline stylesheet (kept apart so html.py reads as page structure).

Usage: html.py puts CSS inside a <style> element; the page loads nothing else.
"""

CSS = """
:root {
  --text: #1f2937; --muted: #6b7280; --line: #e5e7eb; --page: #f3f4f6; --card: #ffffff;
  --accent: #2563eb; --good: #15803d; --good-bg: #dcfce7; --bad: #b91c1c; --bad-bg: #fee2e2;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--page); color: var(--text);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1040px; margin: 0 auto; padding: 28px 20px 48px; }
header { margin-bottom: 18px; }
.eyebrow { margin: 0; color: var(--accent); font-weight: 600; letter-spacing: .06em; text-transform: uppercase; font-size: 12px; }
h1 { margin: 4px 0 6px; font-size: 30px; line-height: 1.2; }
h2 { margin: 0 0 8px; font-size: 20px; }
h3 { margin: 18px 0 6px; font-size: 16px; }
.meta { margin: 0; color: var(--muted); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 20px 24px; margin: 16px 0; }
p { margin: 6px 0 10px; }
.explain { color: #374151; max-width: 78ch; }
.explain strong { color: var(--text); }
nav { margin: 14px 0 0; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
.stats { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; margin: 4px 0 14px; }
.stat { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: #fafafa; }
.stat .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.stat .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat .note { color: var(--muted); font-size: 13px; }
.stat.hero { border-color: #bfdbfe; background: #eff6ff; }
.stat.hero .value { font-size: 30px; color: var(--accent); }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 13px; font-weight: 600; }
.pill.good { color: var(--good); background: var(--good-bg); }
.pill.bad { color: var(--bad); background: var(--bad-bg); }
.pill.unknown { color: var(--muted); background: var(--page); }
.lead { font-size: 16px; }
.timebar { display: flex; height: 16px; border-radius: 4px; overflow: hidden; background: var(--page); margin: 6px 0 8px; }
.timebar span { display: block; height: 100%; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 13px; color: #374151; margin: 0; padding: 0; list-style: none; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
figure { margin: 12px 0 4px; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; color: #374151; }
tbody tr:nth-child(even) td { background: #fcfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.weak td { background: #fef2f2 !important; }
tr.best td { font-weight: 650; }
tr.avg td { border-top: 2px solid var(--line); color: #374151; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
td code { overflow-wrap: anywhere; }
pre { background: #111827; color: #f9fafb; padding: 12px 14px; border-radius: 8px; overflow-x: auto; }
details { margin-top: 8px; }
summary { cursor: pointer; color: var(--accent); }
.missing { color: var(--muted); font-style: italic; }
.none { color: var(--muted); }
@media (max-width: 760px) { .stats { grid-template-columns: 1fr; } }
footer { color: var(--muted); font-size: 13px; text-align: center; margin-top: 24px; }
@media print { body { background: #fff; } section { break-inside: avoid; border-color: #ccc; } nav { display: none; } }
"""
