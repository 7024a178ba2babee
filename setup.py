"""Packaging for mcf_mm. Install with `bash tools/install.sh` (see README): the OpenMMLab stack needs an order."""

from pathlib import Path

from setuptools import find_packages, setup


def read_version() -> str:
    ns: dict = {}
    exec((Path(__file__).parent / 'mcf_mm' / 'version.py').read_text(), ns)
    return ns['__version__']


def read_requirements(name: str) -> list:
    lines = (Path(__file__).parent / 'requirements' / name).read_text().splitlines()
    specs = [ln.split('#', 1)[0].strip() for ln in lines]  # pip allows comments after a requirement
    return [spec for spec in specs if spec]


setup(
    name='mcf_mm',
    version=read_version(),
    description='Face representation learning (MCF, FaRL) and face analysis transfer in OpenMMLab',
    long_description=Path(__file__).with_name('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['mcf_mm', 'mcf_mm.*']),
    include_package_data=True,
    package_data={'mcf_mm': ['**/*.json', '**/*.txt.gz', '**/*.py']},
    install_requires=['torch>=2.0', 'torchvision'] + read_requirements('runtime.txt'),
    extras_require={
        'mm': read_requirements('mminstall.txt'),
        'tests': read_requirements('tests.txt'),
    },
)
