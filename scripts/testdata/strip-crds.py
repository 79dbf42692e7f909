#!/usr/bin/env python3
"""strip-crds.py prints the CustomResourceDefinitions in the YAML files given, without their
"description" fields: the schemas stay as they are, a third of the size. It made
cert-manager-crds.yaml from cert-manager's deploy/crds/ (see that file's header)."""
import sys

import yaml  # Debian: python3-yaml


def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k != "description"}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o


for path in sys.argv[1:]:
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc:
                sys.stdout.write("---\n" + yaml.safe_dump(strip(doc), sort_keys=False))
