"""mkdocs hook: replaces ``<!-- catalog-table -->`` with a table generated from the dataset catalog.

The table is never copied by hand, so it cannot drift from what ``list_datasets()`` returns.
"""

from __future__ import annotations

from typing import Any

PLACEHOLDER = "<!-- catalog-table -->"


def catalog_table() -> str:
    import visiondata as vd

    rows = [
        "| name | task | splits | classes | channels | mean / std | download | wraps |",
        "| --- | --- | --- | ---: | ---: | --- | --- | --- |",
    ]
    for name in vd.list_datasets():
        info = vd.dataset_info(name)
        statistics = "" if info.mean is None else f"{info.mean} / {info.std}"
        rows.append(
            f"| [`{name}`]({info.homepage}) | {info.task} | {', '.join(f'`{s}`' for s in info.splits)} | "
            f"{info.num_classes or ''} | {info.channels or ''} | {statistics} | "
            f"{'yes' if info.download else 'no'} | `{info.wraps or info.source}` |"
        )
    return "\n".join(rows) + f"\n\n{len(rows) - 2} datasets."


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if PLACEHOLDER in markdown:
        return markdown.replace(PLACEHOLDER, catalog_table())
    return markdown
