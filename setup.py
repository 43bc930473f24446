"""Package list for setuptools (everything else is in pyproject.toml).

The shipped profiles/ and rules/ stay at the top of the repository, the one source that
`solbot init`, the docs and the tests read; these two extra packages map them into the wheel
(package-dir in pyproject.toml) so a normal install finds them under solbot/_shipped/."""

from setuptools import find_namespace_packages, setup

SHIPPED = ["solbot._shipped.profiles", "solbot._shipped.rules"]

# Namespace discovery, as pyproject's packages.find does: data-only folders (resources/) count.
FOUND = find_namespace_packages(include=["solbot", "solbot.*"], exclude=["*__pycache__*"])

setup(packages=[*FOUND, *SHIPPED])
