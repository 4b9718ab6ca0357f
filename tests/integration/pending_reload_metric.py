#!/usr/bin/env python3
"""Pending: the sovgw_policy_version gauge must follow a `policy compile` into
the running gateway's store (the decision log already does; test_reload.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Runner, TempDir, Upstream  # noqa: E402
from test_reload import t_reload_under_traffic  # noqa: E402


def main():
    r = Runner("reload_metric")
    tmp = TempDir()
    try:
        with Upstream() as up:
            r.run("sovgw_policy_version follows compiles into the store",
                  t_reload_under_traffic, tmp, up, True)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
