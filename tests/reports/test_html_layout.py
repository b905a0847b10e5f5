"""The HTML report's layout: the verdict first, one memory-model row per measurement, and
the structure its tables rely on to fit a 1,280-pixel window (spreads in an element of
their own, short headings, few columns, reasons that wrap to their table)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from record_factory import make

from loadbench.reports.html import write_report
from loadbench.reports.memory_model import predict
from loadbench.reports.metrics import BY_FIELD
from loadbench.reports.records import Record
from loadbench.reports.tables import model_rows
from loadbench.reports.text import memory_model
from loadbench.reports.units import format_bytes
from loadbench.reports.verdict import verdict

# The most columns a table has with every summary figure measured in training (strategy,
# repeats and 11 figures): at 1,280 pixels it fits the page's 1,152 when its ranges wrap.
MAX_COLUMNS = 13
# A heading's longest word sets its column's least width; "accelerators" was too long.
HEADING_WORD = 10
RANGE = re.compile(r"\([^()]*\S-\d[^()]*\)|\(all \d+ equal\)")
VOID = {"meta", "br", "wbr", "img", "hr", "link", "input"}
TRAIN = {  # a training run's accelerator, emulated
    "accelerator": "h100",
    "accelerator_source": "derived",
    "accelerator_step_s": 0.049,
}


@dataclass
class Node:
    """An element of the page, its attributes and children (elements and text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.elements():
            if child.tag == tag and (cls is None or cls in child.classes):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found

    def find(self, tag: str, cls: str | None = None) -> Node:
        return self.find_all(tag, cls)[0]

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def text(self, skip: str | None = None) -> str:
        """The text inside, whitespace (non-breaking too) collapsed; without the elements
        of class ``skip``."""
        parts = [
            c if isinstance(c, str) else c.text(skip)
            for c in self.children
            if isinstance(c, str) or skip not in c.classes
        ]
        return " ".join(" ".join(parts).split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.open) > 1 and self.open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse(page: str) -> Node:
    builder = _Builder()
    builder.feed(page)
    return builder.root


def render(tmp_path, records: list[Record]) -> tuple[str, Node]:
    page = write_report(records, tmp_path / "report", sources=["r.jsonl"]).read_text()
    return page, parse(page)


def table_after(page: Node, heading: str) -> Node:
    """The first table after the h2 that says ``heading``."""
    body = page.find("body").elements()
    start = next(i for i, n in enumerate(body) if n.tag == "h2" and n.text() == heading)
    return next(n for n in body[start:] if n.tag == "table")


def body_rows(table: Node) -> list[Node]:
    return [row for row in table.find_all("tr") if not row.find_all("th")]


def verdict_records() -> list[Record]:
    """Three strategies trained and iterated: one starves the accelerator, one's graph
    holds the data, the leanest of the two that keep it busy is the pick."""
    runs = []
    for name, busy, peak, graph in (
        ("generator", 0.40, 200_000_000, 6_000),
        ("tfrecord", 0.95, 300_000_000, 8_000),
        ("tensor_slices", 0.97, 900_000_000, 460_000_000),
    ):
        runs.append(make(name, peak_rss_bytes=peak, dataset_graph_bytes=graph))
        trained = {"accelerator_busy_share": busy, "accelerators_fed": 2, **TRAIN}
        runs.append(make(name, mode="train", peak_rss_bytes=peak, **trained))
    return runs


def test_the_report_opens_with_the_verdict(tmp_path):
    records = verdict_records()
    found = verdict(records)
    assert found is not None and found.avoid
    _, page = render(tmp_path, records)
    body = page.find("body").elements()
    first = next(n for n in body if n.tag in ("section", "h2", "table"))
    assert first.tag == "section" and first.attrs["id"] == "verdict"
    headline, *rest = found.lines()
    assert first.find("p", "headline").text() == headline
    items = first.find_all("li")
    assert [li.text() for li in items] == [line.removeprefix("  ") for line in rest]
    kinds = {li.text(): li.classes for li in items}
    assert kinds[found.passing] == ["passing"] and kinds[found.pick] == ["pick"]
    assert found.pick.startswith("use tfrecord")
    assert all(kinds[line] == ["avoid"] for line in found.avoid)
    assert any("starves it" in line for line in found.avoid)
    # then what was there: the advice, the summary
    headings = [n.text() for n in body if n.tag == "h2"]
    assert headings[:2] == ["Which strategy when", "Summary"]


def test_no_verdict_section_without_a_strategy(tmp_path):
    ceilings = [make("ceiling_copy", dataset_graph_bytes=None)]
    assert verdict(ceilings) is None
    page, _ = render(tmp_path, ceilings)
    assert 'id="verdict"' not in page


def one_measurement_three_times() -> list[Record]:
    profile = {"split_copies": 2, "why": "its decoded arrays"}
    peaks = (300_000_000, 310_000_000, 290_000_000)
    runs = [
        make("tensor_slices", repeat=i, peak_rss_bytes=peak, memory_profile=profile)
        for i, peak in enumerate(peaks)
    ]
    return [*runs, make("generator", memory_profile={"why": "one sample at a time"})]


def test_the_memory_model_has_one_row_per_measurement(tmp_path):
    records = one_measurement_three_times()
    predictions = {predict(r).peak_bytes for r in records[:3]}
    assert len(predictions) == 1  # the repeats share one prediction
    predicted = predictions.pop()
    rows = model_rows(records)
    assert [(r.strategy, r.repeats) for r in rows] == [("tensor_slices", 3), ("generator", 1)]
    row = rows[0]
    assert (row.measured, row.measured_range) == ("300.0 MB", "(290.0-310.0)")
    assert (row.predicted, row.predicted_range) == (format_bytes(predicted), "")
    assert row.error_fraction == (predicted - 300_000_000) / 300_000_000
    assert rows[1].measured_range == "" and rows[1].mode == "iterate"
    # the terminal lays out the same rows: a title, the header, one line each
    assert len(memory_model(rows, "25%").splitlines()) == 2 + 2
    _, page = render(tmp_path, records)
    table = table_after(page, "Memory model: predicted against measured")
    found = body_rows(table)
    assert [r.find("td").text() for r in found] == ["tensor_slices", "generator"]
    measured = found[0].find("span", "median").text()
    assert measured == "300.0 MB" and found[0].find("span", "spread").text() == "(290.0-310.0)"


def test_predictions_that_differ_between_repeats_show_their_range():
    # a time floor took 10 batches in one repeat and 20 in the other: the mapped pages
    # the model counts differ, so the one row says the prediction's range
    data = {
        "root": "synthetic",
        "split": "train",
        "pairs": 10_000,
        "image_size": [64, 64],
        "bytes_per_sample": 28672,
    }
    profile = {"mapped_split": True, "why": "its memory-mapped file"}
    runs = [
        make("memmap", repeat=i, steps=steps, dataset=data, memory_profile=profile)
        for i, steps in enumerate((10, 20))
    ]
    low, high = sorted(predict(r).peak_bytes for r in runs)
    assert low < high
    [row] = model_rows(runs)
    assert row.repeats == 2 and row.predicted == format_bytes((low + high) / 2)
    assert row.predicted_range == f"({format_bytes(low)}-{format_bytes(high)})".replace(" MB", "")


def every_figure() -> list[Record]:
    """Two strategies, three repeats each, iterating and training, with every figure of
    the summary measured: its widest tables."""
    runs = []
    for mode in ("iterate", "train"):
        for name in ("tensor_slices", "mypkg.pipelines:make_dataset"):
            for i in range(3):
                extra = dict(TRAIN) if mode == "train" else {"ceiling": "ceiling_copy"}
                if mode == "train":
                    extra.update(
                        accelerator_busy_share=0.80 + 0.05 * i,
                        accelerators_fed=i + 1,
                        input_bound_share=0.1,
                        gpu_peak_bytes=1_500_000_000 + i * 300_000_000,
                        train_graph_bytes=1_200_000 + i * 100_000,
                    )
                runs.append(
                    make(
                        name,
                        mode=mode,
                        repeat=i,
                        samples_per_s=12_345.0 + 3_000 * i,
                        first_batch_s=1.2 + i,
                        peak_pss_bytes=913_700_000 + i * 190_000_000,
                        peak_rss_bytes=950_000_000 + i * 170_000_000,
                        memray_peak_bytes=42_000_000 + i * 1_000_000,
                        graph_serialize_peak_bytes=1_900_000_000 + i * 200_000_000,
                        **extra,
                    )
                )
    runs += [make("ceiling_copy", repeat=i, samples_per_s=25_000.0 + i) for i in range(3)]
    return runs


@pytest.fixture(scope="module")
def widest(tmp_path_factory) -> tuple[str, Node]:
    """The report of ``every_figure``, rendered once for the tests below."""
    return render(tmp_path_factory.mktemp("widest"), every_figure())


def test_no_table_has_more_columns_than_fit(widest):
    _, page = widest
    widths = [len(table.find("tr").elements()) for table in page.find_all("table")]
    assert max(widths) == MAX_COLUMNS  # the training summary: every figure measured


def test_summary_headings_are_short_and_say_the_rest_in_their_tooltip(widest):
    _, page = widest
    for table in page.find_all("div", "wide"):
        headings = table.find("tr").elements()
        assert [h.text() for h in headings[:2]] == ["strategy", "repeats"]  # no status column
        for heading in headings[2:]:
            assert max(len(word) for word in heading.text().split()) <= HEADING_WORD
            metric = next(m for m in BY_FIELD.values() if m.heading == heading.text())
            assert heading.attrs["title"].startswith(f"{metric.label}: ")
    trained = page.find_all("div", "wide")[-1].find("tr")
    assert "fed" in [h.text() for h in trained.elements()]


def test_every_range_sits_in_an_element_of_its_own_under_its_median(widest):
    _, page = widest
    cells = [td for td in page.find_all("td") if "text" not in td.classes]
    spreads = [td for td in cells if td.find_all("span", "spread")]
    assert len(spreads) > 40
    for td in cells:
        assert not RANGE.search(td.text(skip="spread")), td.text()
    for td in spreads:
        median = td.find("span", "median").text()
        assert "(" not in median and RANGE.fullmatch(td.find("span", "spread").text())


def test_reasons_wrap_to_their_table_and_names_break_at_their_module(widest):
    page, tree = widest
    reasons = [tr for tr in tree.find_all("tr") if "why" in tr.classes]
    assert reasons  # the repeats differ: each row says why on a line of its own
    for tr in reasons:
        [td] = tr.elements()
        assert td.attrs["colspan"] and [n.tag for n in td.elements()] == ["div"]
    assert "mypkg.<wbr>pipelines:<wbr>make_dataset" in page
    style = re.sub(r"/\*.*?\*/", "", tree.find("style").text())
    rules = {k.strip(): v for k, v in re.findall(r"([^{}]+)\{([^}]*)\}", style)}
    assert "contain: inline-size" in rules["tr.why td > div"]
    assert "white-space: normal" in rules[".spread, .qualifier"]
