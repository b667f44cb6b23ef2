# The Michel electron relabeling study of Domine & Terao (arXiv:1903.05663) as a workflow.
#
#   snakemake --cores all                      the default study (config.yaml)
#   snakemake --cores all --configfile workflow/configs/smoke.yaml
#
# Rules are thin: each calls `python -m lartpc_seg ...` or `python -m analysis ...`, so anything a
# rule does can be run, tested and profiled by hand.

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


# Front page of the HTML report (--report): the study, this run's configuration, the tables.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/inference.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/benchmark.smk"


rule all:
    input:
        dataset_outputs(),
        training_outputs(),
        analysis_outputs(),
        benchmark_outputs(),
        report_outputs(),
    default_target: True
