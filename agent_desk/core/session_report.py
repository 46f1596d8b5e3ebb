"""A session report a team lead hands on: the call's facts, its timeline, the scores and
the comments, as one self-contained HTML page (prints to PDF from any browser)."""

from __future__ import annotations

import html
from collections.abc import Mapping

from agent_desk.core.qa import Evaluation
from agent_desk.core.timeline import Timeline, format_offset

_STYLE = """
body { font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; margin: 2em; color: #111827; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #d1d5db;
padding: 4px 8px; text-align: left; vertical-align: top; } th { background: #f3f4f6; }
.fail { color: #b91c1c; font-weight: bold; } .pass { color: #15803d; } .muted { color: #6b7280; }
"""


def render_report(
    facts: Mapping[str, str], timeline: Timeline, evaluation: Evaluation | None
) -> str:
    e = html.escape
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts.items())
    events = "".join(
        f"<tr><td>{format_offset(ev.offset_ms)}</td><td>{e(ev.label)}</td>"
        f"<td>{e(ev.detail)}</td></tr>"
        for ev in timeline
    )
    parts = [
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'>",
        f"<title>{e(facts.get('Call · 通话', 'Session report'))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Session report · 通话质检报告</h1>",
        f"<table>{rows}</table>",
        "<h2>Timeline · 时间线</h2>",
        f"<table><tr><th>Time</th><th>Event</th><th>Detail</th></tr>{events}</table>",
    ]
    if evaluation is None:
        parts.append("<h2>Scores · 评分</h2><p class='muted'>Not scored yet · 尚未评分</p>")
    else:
        items = []
        for item, score in zip(evaluation.items, evaluation.scores, strict=True):
            result = score.result or "—"
            css = result if result in ("pass", "fail") else "muted"
            star = "★ " if item.critical else ""
            items.append(
                f"<tr><td>{star}{e(item.title.zh)}<br><span class='muted'>"
                f"{e(item.title.en or '')}</span></td><td>{item.weight:g}</td>"
                f"<td class='{css}'>{e(result)}</td><td>{e(score.evidence_text)}</td>"
                f"<td>{e(score.comment)}</td></tr>"
            )
        total = evaluation.total_percent
        failed = ", ".join(evaluation.failed_critical)
        parts += [
            "<h2>Scores · 评分</h2>",
            "<table><tr><th>Item</th><th>Weight</th><th>Result</th><th>Evidence</th>"
            f"<th>Comment</th></tr>{''.join(items)}</table>",
            f"<p><b>Total · 总分: {'n/a' if total is None else f'{total}%'}</b>"
            + (f" <span class='fail'>critical item failed: {e(failed)}</span>" if failed else "")
            + "</p>",
        ]
        if evaluation.comments:
            comments = "".join(
                f"<tr><td>{format_offset(c.offset_ms)}</td><td>{e(c.author)}</td>"
                f"<td>{e(c.text)}</td></tr>"
                for c in evaluation.comments
            )
            parts.append(
                "<h2>Comments · 批注</h2><table><tr><th>Time</th><th>By</th>"
                f"<th>Comment</th></tr>{comments}</table>"
            )
    parts.append("</body></html>")
    return "".join(parts)
