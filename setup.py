"""Packaging for mcf_mm. Install with `bash tools/install.sh` (see README): the OpenMMLab stack needs an order."""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent
# OpenMMLab's mim layout (as mmpretrain / mmpose ship it): `mim train|test|search mcf_mm ...` read these from
# <site-packages>/mcf_mm/.mim/. tools/train.py puts that folder on sys.path, so projects/ comes along for the
# configs that import a project plugin.
MIM_FILES = ('configs', 'tools', 'projects', 'model-index.yml')


def read_version() -> str:
    ns: dict = {}
    exec((Path(__file__).parent / 'mcf_mm' / 'version.py').read_text(), ns)
    return ns['__version__']


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_FILES` into ``mcf_mm/.mim`` of the build (wheels, ``pip install .``).

    Editable installs copy nothing: the package is read from the clone (see docs/model_zoo.md for mim there).
    """

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        dst = Path(self.build_lib) / 'mcf_mm' / '.mim'
        for name in MIM_FILES:
            src = ROOT / name
            if not src.exists():
                raise FileNotFoundError(f'{src} is missing: build mcf_mm from a full clone or sdist (MANIFEST.in)')
            if src.is_dir():
                ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info')
                shutil.copytree(src, dst / name, dirs_exist_ok=True, ignore=ignore)
            else:
                dst.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst / name)


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
    cmdclass={'build_py': BuildPyWithMim},
)
