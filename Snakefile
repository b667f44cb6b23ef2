# The Michel electron relabeling study of Domine & Terao (arXiv:1903.05663) as a workflow.
#
#   snakemake --cores all                      the default study (config.yaml)
#   snakemake --cores all --configfile workflow/configs/smoke.yaml
#
# Rules are thin: each calls `python -m lartpc_seg ...` or `python -m analysis ...`, so anything a
# rule does can be run, tested and profiled by hand.

import sys

from snakemake.utils import min_version

sys.path.insert(0, workflow.basedir)  # this checkout's package, whatever else is installed
from lartpc_seg.config_check import ConfigError, check_snakemake_config

min_version("9.0")


configfile: "config.yaml"


# Every config mistake stops here, before any job, as one line naming the file and key.
try:
    check_snakemake_config(workflow, config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
except ConfigError as err:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(1)


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
