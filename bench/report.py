"""The results as a table (the same Markdown on the terminal and in docs/benchmarks.md) and the
targets of issue 5, each met or not."""

import os
import statistics
from dataclasses import dataclass

from bench.runner import ConfigResult

HASH_BOUND = ("login", "signup")


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    status: str  # "met", "not met", "reported"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def table(config: ConfigResult) -> str:
    """One Markdown table: medians over repetitions; each ratio against the baseline run just
    before it (a bare run, or the hash-bound limit), then the median of those ratios."""
    lines = [
        "| scenario | conn. | req/s | p50 ms | p99 ms | CPU µs/req | × bare | × bare (CPU) "
        "| vs | non-2xx |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    for key, found in config.results.items():
        rps = _median([r.rps for r in found])
        p50, p99 = _median([r.p50_ms for r in found]), _median([r.p99_ms for r in found])
        cpus = [r.cpu_us for r in found if r.cpu_us is not None]
        cpu = _median(cpus) if cpus else None
        cpu_ratio = 1.0 if key == "bare" else config.cpu_ratio(key)
        if config.kinds.get(key) == "hash":
            cpu_ratio = None
        lines.append(
            f"| {config.labels[key]} | {config.loads[key]} | {rps:,.1f} | {p50:.2f} | {p99:.2f} "
            f"| {_cell(cpu, ',.0f')} | {_cell(config.ratio(key), '.3f')} "
            f"| {_cell(cpu_ratio, '.3f')} | {_versus(config, key)} "
            f"| {sum(r.non2xx for r in found)} |"
        )
        if key == "signup":
            rate = _median([h.rate for h in config.hash_limit])
            cpu_ms = _median([h.cpu_us or 0 for h in config.hash_limit]) / 1000
            lines.append(
                f"| hash-bound limit: {argon2_text(config)}, {os.cpu_count()} threads in-process "
                f"| — | {rate:,.1f} | — | — | {cpu_ms * 1000:,.0f} | — | — | hashes/s | — |"
            )
    return "\n".join(lines)


def argon2_text(config: ConfigResult) -> str:
    a = config.argon2
    return f"Argon2id t={a['time_cost']} m={a['memory_cost']} KiB p={a['parallelism']}"


def _versus(config: ConfigResult, key: str) -> str:
    share = config.limit_ratio(key)
    if share is not None:
        efficiency = config.cpu_ratio(key)
        cpu = f"; {efficiency:.2f} of its CPU hashing" if efficiency else ""
        return f"{share:.2f}× hash limit{cpu}"
    if key.endswith("_large"):
        small = config.results.get(key.replace("_large", "_small"))
        if small:
            large_p50 = _median([r.p50_ms for r in config.results[key]])
            return f"p50 {large_p50 / _median([r.p50_ms for r in small]):.2f}× small"
    return ""


def verdicts(config: ConfigResult) -> list[Verdict]:
    """Issue 5's targets, judged on this configuration's numbers."""
    found: list[Verdict] = []
    one_sqlite_worker = config.workers == 1 and config.database == "sqlite"

    def ratio_target(key: str, text: str, floor: float, applies: bool) -> None:
        ratio = config.ratio(key)
        if ratio is None:
            found.append(Verdict(text, "not measured (route missing)", "not met"))
            return
        status = ("met" if ratio >= floor else "not met") if applies else "reported"
        cpu = config.cpu_ratio(key)
        measured = f"{ratio:.3f}× bare" + (f" (by CPU per request: {cpu:.3f}×)" if cpu else "")
        found.append(Verdict(text, measured, status))

    ratio_target(
        "me_bearer", "Bearer GET /account/me ≥ 0.5× bare (1 worker)", 0.5, config.workers == 1
    )
    ratio_target(
        "me_cookie", "cookie GET /account/me ≥ 0.4× bare (1 worker)", 0.4, config.workers == 1
    )
    for key in HASH_BOUND:
        rps = _median([r.rps for r in config.results.get(key, [])])
        share = config.limit_ratio(key) or 0.0
        limit = _median([base.rate for base in config.baselines.get(key, [])])
        text = f"{config.labels.get(key, key)} ≥ 0.9× the hash-bound limit"
        efficiency = config.cpu_ratio(key) or 0.0
        measured = (
            f"{share:.2f}× ({rps:.1f} req/s vs {limit:.1f} hashes/s); "
            f"{efficiency:.2f} of the server's CPU spent hashing"
        )
        found.append(Verdict(text, measured, "met" if share >= 0.9 else "not met"))
    trivial = config.results.get("trivial", [])
    p99 = _median([r.p99_ms for r in trivial])
    found.append(
        Verdict(
            "trivial endpoint p99 ≤ 10 ms while log-ins saturate the CPUs",
            f"{p99:.2f} ms",
            "met" if trivial and p99 <= 10 else "not met",
        )
    )
    ratio_target(
        "refresh", "POST /account/refresh ≥ 0.15× bare (SQLite, 1 worker)", 0.15, one_sqlite_worker
    )
    sizes = sorted(config.seeding)
    for name in ("login", "refresh"):
        large, small = config.results.get(f"{name}_large"), config.results.get(f"{name}_small")
        if not large or not small:
            continue
        share = _median([r.p50_ms for r in large]) / _median([r.p50_ms for r in small])
        text = f"{name} latency (p50) with {sizes[-1]:,} users ≤ 1.2× with {sizes[0]:,}"
        found.append(Verdict(text, f"{share:.2f}×", "met" if share <= 1.2 else "not met"))
    return found


def verdict_table(config: ConfigResult) -> str:
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {v.target} | {v.measured} | {v.status} |" for v in verdicts(config)]
    return "\n".join(lines)


def memory_line(config: ConfigResult) -> str:
    parts = [
        f"{name}: " + ", ".join(f"{mib:.0f} MiB" for mib in values)
        for name, values in config.rss_mib.items()
    ]
    return "Resident memory per worker after the run (VmRSS): " + "; ".join(parts) + "."
