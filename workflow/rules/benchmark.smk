# The paper's sparse-vs-dense benchmark and the engine figures (docs/benchmarking.md).


rule benchmark_engine:
    output:
        json=report(
            "results/benchmark/engine.json", caption="../report/benchmark.rst", category="Benchmark"
        ),
        plots=report(
            directory("results/benchmark/plots"),
            patterns=["{name}.png"],
            caption="../report/benchmark.rst",
            category="Benchmark",
        ),
    params:
        quick="--quick" if config["benchmark"]["quick"] else "",
    threads: 2
    log:
        "logs/benchmark/engine.log",
    # MinkowskiEngine's OpenBLAS starts threads beside OpenMP and overloads the cores; one
    # OpenBLAS thread is its best setting (docs/benchmarking.md), and the JSON records it.
    shell:
        "OPENBLAS_NUM_THREADS=1 {PY} lartpc_seg benchmark engine {params.quick} --out {output.json}"
        " --plots {output.plots} > {log} 2>&1"


def benchmark_outputs():
    return ["results/benchmark/engine.json"] if config["benchmark"]["enabled"] else []
