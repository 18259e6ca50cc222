"""`fusion data check`: read every sample of a dataset, collect every problem, count what is there.

A check never stops at the first broken sample: each `DataError` becomes one line
`file: row/field: what was expected`, and the counts (per action, subject, official split and
modality) describe the samples that were listed and read.
"""

from __future__ import annotations

import signal
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from tqdm import tqdm

from fusion.constants import MODALITIES
from fusion.data.deep import deep_problems
from fusion.data.flex import FlexReader
from fusion.data.readers import Reader
from fusion.data.sample import DataError, SampleInfo
from fusion.pools import worker_context

Outcome = tuple[tuple[str, ...], list[str]]  # modalities present, problems (none: readable)


@dataclass
class CheckReport:
    """What a check found: counts over the checked samples, modalities read, every problem."""

    root: str
    format: str
    samples: int  # listed by the index
    checked: int  # read (the first `limit` of the listed ones)
    actions: dict[str, int] = field(default_factory=dict)
    subjects: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    present: dict[str, int] = field(default_factory=dict)  # modality -> readable samples with it
    readable: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


def check_dataset(
    reader: Reader,
    limit: int | None = None,
    workers: int = 1,
    progress: bool = True,
    deep: bool = True,
) -> CheckReport:
    """Read the first `limit` samples (all by default), and with `deep` decode every frame of
    every view; DataError if the reader finds none. A sample with an unreadable annotation is
    one problem, the others are still counted and read."""
    report = CheckReport(root=str(reader.root), format=reader.dataset, samples=0, checked=0)
    try:
        infos = reader.index(lenient=True) if isinstance(reader, FlexReader) else reader.index()
        summary = reader.summary()
    except DataError as exc:
        report.problems.append(str(exc))
        return report
    if not infos:
        raise DataError(reader.root, f"not a dataset: no {reader.dataset} samples found")
    checked = infos[:limit]
    report.samples, report.checked, report.notes = len(infos), len(checked), summary["notes"]
    report.actions = _counts(info.action or "unknown" for info in checked)
    report.subjects = _counts(info.subject or "unknown" for info in checked)
    report.splits = _counts(info.official_split or "none" for info in checked)
    present: Counter[str] = Counter()
    for modalities, problems in _outcomes(reader, checked, workers, progress, deep):
        if not problems:
            report.readable += 1
            present.update(modalities)
        report.problems += problems
    report.present = {m: present[m] for m in MODALITIES if m in reader.modalities}
    return report


def _counts(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _outcomes(
    reader: Reader, infos: list[SampleInfo], workers: int, progress: bool, deep: bool
) -> Iterator[Outcome]:
    """Read each sample in index order (in a process pool when workers > 1), with a progress bar."""
    bar = tqdm(total=len(infos), desc="check", unit="sample", file=sys.stderr, disable=not progress)
    with bar:
        if workers <= 1:
            for info in infos:
                yield _check_sample(reader, info, deep)
                bar.update()
            return
        with worker_context().Pool(workers, _set_worker_reader, (reader, deep)) as pool:
            for outcome in pool.imap(_check_in_worker, infos, chunksize=2):
                yield outcome
                bar.update()


def _check_sample(reader: Reader, info: SampleInfo, deep: bool) -> Outcome:
    """The modalities a sample has, and the problems that stop it being read or that the deep
    pass finds in its frames."""
    deep = deep and "video" in reader.modalities
    found = deep_problems(reader.root, reader.dataset, info) if deep else []
    try:
        sample = reader.read(info)
    except DataError as exc:  # the deep pass's word on the same file would say it twice
        return (), [str(exc), *(str(p) for p in found if p.path != exc.path)]
    return sample.present, [str(p) for p in found]


_WORKER: dict = {}


def _set_worker_reader(reader: Reader, deep: bool) -> None:
    """Each worker reads with torch single-threaded: the pool already uses every core; Ctrl-C
    is left to the parent, which stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.update(reader=reader, deep=deep)
    torch.set_num_threads(1)


def _check_in_worker(info: SampleInfo) -> Outcome:
    return _check_sample(_WORKER["reader"], info, _WORKER["deep"])


def format_report(report: CheckReport) -> str:
    """The report as text: counts, notes, then one line per problem."""
    checked = f"{report.checked} checked" if report.checked < report.samples else "all checked"
    lines = [f"{report.root}: {report.format}, {report.samples} samples ({checked})"]
    for title, counts in (
        ("actions", report.actions),
        ("subjects", report.subjects),
        ("splits", report.splits),
    ):
        if counts:
            lines.append(f"  {title + ':':12}" + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if report.present:
        have = ", ".join(f"{m} {n}/{report.readable}" for m, n in report.present.items())
        lines.append(f"  {'modalities:':12}{have} (of the readable samples)")
    lines += [f"  note: {note}" for note in report.notes]
    if report.ok:
        lines.append("ok: no problems")
    else:
        lines.append(f"{len(report.problems)} problems:")
        lines += [f"  {problem}" for problem in report.problems]
    return "\n".join(lines)
