"""Markdown to one self-contained HTML page (inline CSS, figures as data URIs).

Only the markdown subset the report writes is handled; see `markdown_to_html`.
"""
import base64
import html
import re

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 72em; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f0f0f0; }
tr:nth-child(even) td { background: #fafafa; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
code { font-family: Menlo, Consolas, monospace; font-size: 0.92em; }
img { max-width: 100%; }
"""


def _inline(text):
    """Escapes HTML, then renders `code` and **bold** (the only inline markup the report writes)."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(part)))
    return "".join(out)


def _split_row(line):
    """The cells of a pipe-table row; `\\|` is a literal pipe inside a cell."""
    cells = re.split(r"(?<!\\)\|", line.strip()[1:])  # [1:]: the leading pipe
    if cells and not cells[-1].strip():
        cells.pop()  # after the closing pipe
    return [c.strip().replace("\\|", "|") for c in cells]


def _html_table(lines):
    header, body = lines[0], lines[1:]
    align = []
    if body and re.fullmatch(r"\|[\s:|-]+\|?", body[0].strip()):
        align, body = ["r" if cell.endswith(":") else "l" for cell in _split_row(body[0])], body[1:]
    classes = ['' if a == "l" else ' class="r"' for a in align]

    def row(line, tag):
        cells = _split_row(line)
        return "<tr>" + "".join(
            f"<{tag}{classes[i] if i < len(classes) else ''}>{_inline(c)}</{tag}>" for i, c in enumerate(cells)
        ) + "</tr>"

    return ["<table>", row(header, "th"), *(row(line, "td") for line in body), "</table>"]


def markdown_to_html(markdown, images=None, title="keras-lnn report"):
    """A self-contained HTML page from the markdown subset the report writes.

    Handles headings, paragraphs, pipe tables, fenced code, "- " lists and
    images alone on a line; inline `code` and **bold**. Images are embedded as
    base64 data URIs from `images` (`{src: PNG bytes}`), so the page needs no
    other file.

    Args:
        markdown: the text.
        images: `{path as written in the markdown: PNG bytes}`.
        title: the page's `<title>`.

    Example:

    >>> page = markdown_to_html("# Title\\n\\n| a | b |\\n|---|---:|\\n| x | 1 |")
    >>> "<h1>Title</h1>" in page and '<td class="r">1</td>' in page
    True
    """
    images = images or {}
    lines = markdown.splitlines()
    out, paragraph, i = [], [], 0

    def flush():
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        image = re.fullmatch(r"!\[([^\]]*)\]\(([^)]+)\)", stripped)
        if stripped.startswith("```"):
            flush()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines))
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1:end])) + "</code></pre>")
            i = end + 1
            continue
        if stripped.startswith("|"):
            flush()
            end = next((j for j in range(i, len(lines)) if not lines[j].strip().startswith("|")), len(lines))
            out += _html_table(lines[i:end])
            i = end
            continue
        if stripped.startswith("- "):
            flush()
            end = next((j for j in range(i, len(lines)) if not lines[j].strip().startswith("- ")), len(lines))
            out += ["<ul>"] + [f"<li>{_inline(item.strip()[2:])}</li>" for item in lines[i:end]] + ["</ul>"]
            i = end
            continue
        heading = re.match(r"(#{1,6}) (.*)", stripped)
        if heading:
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif image:
            flush()
            alt, src = image.groups()
            if src in images:
                src = "data:image/png;base64," + base64.b64encode(images[src]).decode("ascii")
            out.append(f'<p><img alt="{html.escape(alt)}" src="{html.escape(src)}"></p>')
        elif stripped:
            paragraph.append(stripped)
        else:
            flush()
        i += 1
    flush()
    body = "\n".join(out)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
