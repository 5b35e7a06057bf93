"""The bench's ratios: each against its own baseline, and none where there is none."""

from bench.runner import Baseline, ConfigResult
from bench.wrk import Result


def result(requests: int) -> Result:
    return Result(requests, 5.0, 1.0, 1.0, 1.0, 0, 0, "", cpu_us=100.0)


def test_hash_bound_scenarios_alone_have_a_limit_ratio_and_no_bare_one() -> None:
    """`--only login` runs no bare endpoint: the × bare column is empty, not a crash."""
    config = ConfigResult("sqlite", 1)
    config.results["login"] = [result(400), result(450), result(425)]
    config.kinds["login"] = "hash"
    config.baselines["login"] = [Baseline(100.0, 20_000.0)] * 3
    assert config.ratio("login") is None
    assert config.limit_ratio("login") == 0.85  # 85 req/s against 100 hashes/s


def test_a_hash_bound_ratio_against_bare_uses_the_median_bare_run() -> None:
    config = ConfigResult("sqlite", 1)
    config.results["bare"] = [result(40_000), result(50_000), result(45_000)]
    config.results["login"] = [result(450)]
    config.kinds["login"] = "hash"
    assert config.ratio("login") == 0.01  # 90 req/s against 9,000
