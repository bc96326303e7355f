"""``python -m benchmarks.report``: bench-results.json as the Markdown table the README shows."""

from __future__ import annotations

import json

from .common import RESULTS

# figure -> (what it measures, goal as text, goal test)
FIGURES = {
    "cold_start_s": ("server start → home page rendered in Chromium (s)", "", None),
    "rss_mb_idle": ("server memory after the home page (MB)", "", None),
    "model_load_s": ("load all-MiniLM-L6-v2 with our loader (s)", "", None),
    "trace_128_ms": ("our traced forward pass, 128 tokens (ms)", "≤ 40", lambda v: v <= 40),
    "trace_128_vs_transformers_ratio": ("… ÷ transformers eager, same run", "≤ 1.0", lambda v: v <= 1.0),
    "trace_512_ms": ("our traced forward pass, 512 tokens (ms)", "≤ 150", lambda v: v <= 150),
    "trace_512_vs_transformers_ratio": ("… ÷ transformers eager, same run", "≤ 1.0", lambda v: v <= 1.0),
    "attention_rerun_ms": ("/attention rerun after a head change (AppTest, ms)", "≤ 50", lambda v: v <= 50),
    "walkthrough_rerun_ms": ("step view rerun after another token, 128 tokens (ms)", "≤ 50", lambda v: v <= 50),
    "value_weighted_128_ms": ("value-weighted maps ‖α·f(x)‖, all layers and heads, 128 tokens, one thread (ms)", "≤ 30",
                              lambda v: v <= 30),
    "head_importance_32_ms": ("every head knocked out alone (L × H, batched), 32 tokens, one thread (ms)", "≤ 400",
                              lambda v: v <= 400),
    "head_importance_128_ms": ("… 128 tokens (ms)", "≤ 2000", lambda v: v <= 2000),
    "token_importance_32_ms": ("leave-one-out and six attention explanations, 32 tokens, one thread (ms)", "≤ 500",
                               lambda v: v <= 500),
    "knockout_32_ms": ("two heads off vs the intact model (the lab's numbers), 32 tokens, one thread (ms)", "", None),
    "rss_mb_after_attention": ("server memory after /attention rendered (MB)", "≤ 450", lambda v: v <= 450),
    "rss_mb_after_all_pages": ("… after every page and every /attention view, a session each (MB)", "≤ 600",
                               lambda v: v <= 600),
    "smoothing_rerun_ms": ("/smoothing rerun after a σ change, n = 2,000 (ms)", "≤ 30", lambda v: v <= 30),
    "smooth_100k_ms": ("`smooth` at n = 100,000 (ms)", "", None),
    "smooth_vs_scipy_ratio": ("… ÷ scipy `gaussian_filter1d`, same run", "≤ 1.5", lambda v: v <= 1.5),
    "lookup_rerun_temp_ms": ("/lookup rerun after a temperature change (ms)", "≤ 30", lambda v: v <= 30),
    "lookup_rerun_query_ms": ("/lookup rerun after a new query (ms)", "≤ 60", lambda v: v <= 60),
    "floor_ms": ("the floor: a one-slider, one-line-chart Streamlit page, key press → run finished → 2 frames, "
                 "real Chromium (ms)", "", None),
    "interaction_sigma_ms": ("σ on /smoothing, same measure (ms)", "", None),
    "interaction_sigma_vs_floor_ratio": ("… ÷ the floor, same run", "≤ 1.5", lambda v: v <= 1.5),
    "interaction_head_ms": ("head slider on /attention (ms)", "", None),
    "interaction_head_vs_floor_ratio": ("… ÷ the floor, same run", "≤ 1.5", lambda v: v <= 1.5),
    "interaction_temperature_ms": ("temperature on /lookup (ms)", "", None),
    "interaction_temperature_vs_floor_ratio": ("… ÷ the floor, same run", "≤ 1.5", lambda v: v <= 1.5),
    "interaction_token_ms": ("a token click on /attention (ms)", "", None),
    "interaction_token_vs_floor_ratio": ("… ÷ the floor, same run", "≤ 1.5", lambda v: v <= 1.5),
    "interaction_headclick_ms": ("a head click in the overview (ms)", "", None),
    "interaction_headclick_vs_floor_ratio": ("… ÷ the floor, same run", "≤ 1.5", lambda v: v <= 1.5),
    "interaction_text_ms": ("new text on /attention, Ctrl+Enter (ms)", "", None),
    "interaction_text_vs_floor_ratio": ("… ÷ the floor, same run", "≤ 2.5", lambda v: v <= 2.5),
    **{f"floor_{k}charts_ms": (f"the floor page with {k} charts, all redrawn by its slider (ms)", "", None)
       for k in range(2, 9)},
    **{f"interaction_{name}_vs_charts_floor_ratio": (
        f"{what} ÷ the floor page with as many charts as it redraws (`interaction_{name}_charts`), same run", "", None)
       for name, what in (("sigma", "σ"), ("head", "head slider"), ("temperature", "temperature"),
                          ("token", "token click"), ("headclick", "head click"), ("text", "new text"))},
    "load_p50_ms": ("10 concurrent browser sessions: p50 interaction (ms)", "", None),
    "load_p95_ms": ("… p95 interaction (ms)", "≤ 1000", lambda v: v <= 1000),
    "load_server_p95_ms": ("… p95 of the server's share: rerun request → run finished, on the websocket (ms)", "",
                           None),
    "load_server_cpu_pct": ("… server CPU over the minute (% of one core)", "", None),
    "load_browser_cpu_pct": ("… the 10 visitors' Chromium on the same machine (% of one core)", "", None),
    "load_errors": ("… errors", "0", lambda v: v == 0),
    "load_leaks": ("… sessions that saw another session's text", "0", lambda v: v == 0),
    "cloud_install_s": ("`make cloud-check`: fresh uv install of requirements.txt, empty cache (s)", "", None),
    "cloud_site_packages_mb": ("… site-packages (MiB)", "", None),
    "cloud_rss_mb_after_all_pages": ("… server memory after every page and view (MB)", "≤ 600", lambda v: v <= 600),
    "soak_rss_growth_pct": ("1,000 /attention reruns: memory growth after warm-up (%)", "≤ 5", lambda v: v <= 5),
    "audience_25_p95_ms": ("25 protocol visitors, one server: worst action's server-side p95 (ms)", "", None),
    "audience_50_p95_ms": ("… 50 visitors (ms)", "", None),
    "audience_100_p95_ms": ("… 100 visitors (ms)", "≤ 1000", lambda v: v <= 1000),
    "audience_100_errors": ("… 100 visitors: errors (failed checks, timeouts, cross-talk)", "0", lambda v: v == 0),
    "audience_100_leaks": ("… sessions still active on the server after the visitors left", "0", lambda v: v == 0),
    "audience_100_rss_mb_peak": ("… peak server RSS (MB)", "≤ 1500", lambda v: v <= 1500),
    "audience_100_server_cpu_pct": ("… server CPU over the minute (% of one core)", "", None),
    "audience_100_client_cpu_pct": ("… the 100 visitors' own CPU, one asyncio process (% of one core)", "", None),
    "replicas_1_capacity": ("visitors one replica behind HAProxy holds at p95 ≤ 1 s, no errors", "", None),
    "replicas_2_capacity": ("… two replicas", "", None),
    "replicas_capacity_ratio": ("… two replicas ÷ one", "≥ 1.6", lambda v: v >= 1.6),
}


def _number(value: float) -> str:
    """Three significant digits at most, whole numbers above 100 (1,234 not 1234.5678)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def table(results: dict[str, float]) -> str:
    """Markdown table of the known figures present in ``results``, with goals and whether each is met."""
    lines = ["| figure | what | value | goal | met |", "|---|---|---|---|---|"]
    for name, (what, goal, ok) in FIGURES.items():
        if name in results:
            value = results[name]
            met = "" if ok is None else ("yes" if ok(value) else "**no**")
            lines.append(f"| `{name}` | {what} | {_number(value)} | {goal} | {met} |")
    cores, mem, cpu = (results.get(f"machine_{k}") for k in ("cores", "memory_gb", "cpu"))
    lines.append("")
    lines.append(f"Measured on {cores} cores ({cpu or 'CPU not recorded'}) and {mem} GB of memory, a machine "
                 "shared with other work. Speed figures are medians of ≥ 5 runs, each ratio against a reference "
                 "timed in the same run; load figures are percentiles over one 60 s run.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(json.loads(RESULTS.read_text())))
