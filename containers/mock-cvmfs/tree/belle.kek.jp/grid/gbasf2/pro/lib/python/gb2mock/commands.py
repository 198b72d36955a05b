"""Entry points of the ``bin/`` scripts, by command name."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Dict, Tuple

COMMANDS: Dict[str, Tuple[str, str]] = {
    "gb2_proxy_init": ("tools_proxy", "proxy_init_main"),
    "gb2_proxy_info": ("tools_proxy", "proxy_info_main"),
    "gbasf2": ("tools_submit", "gbasf2_main"),
    "gb2_project_summary": ("tools_jobs", "project_summary_main"),
    "gb2_job_status": ("tools_jobs", "job_status_main"),
    "gb2_job_reschedule": ("tools_jobs", "job_reschedule_main"),
    "gb2_job_kill": ("tools_jobs", "job_kill_main"),
    "gb2_job_delete": ("tools_jobs", "job_delete_main"),
    "gb2_job_output": ("tools_jobs", "job_output_main"),
    "gb2_ds_list": ("tools_data", "ds_list_main"),
    "gb2_ds_get": ("tools_data", "ds_get_main"),
    "gb2_ds_search": ("tools_data", "ds_search_main"),
    "gb2_check_release": ("tools_data", "check_release_main"),
}


def run(command: str) -> int:
    module_name, function = COMMANDS[command]
    module = importlib.import_module(f"gb2mock.{module_name}")
    try:
        return int(getattr(module, function)() or 0)
    except KeyboardInterrupt:
        print("Interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the interpreter closes it at exit)
        return 0
