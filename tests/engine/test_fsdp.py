"""FSDP training of MCF (mcf_mm/engine/fsdp.py): the ViT-L/H configs build, 2 gloo processes train a tiny MCF
under them, the EMA over shards equals the formula on gathered parameters, the teacher stays whole and out of the
optimiser, full and sharded checkpoints round-trip, hostile files are refused."""

import glob
import os
import os.path as osp
import subprocess

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mcf_mm  # noqa: F401
from mcf_fixtures.dist import free_port
from mcf_fixtures.tiny import REPO, tiny_overrides
from mcf_mm.engine import read_runner_checkpoint
from mcf_mm.engine.fsdp import FaceFSDPStrategy, MCFShardedDataParallel, block_types, trainable_only
from mcf_mm.registry import MODELS

LARGE = osp.join(REPO, 'configs', 'mcf', 'mcf_vit-large-p16_fsdp-8xb64-accum8-bf16-16e_laion-face-224px.py')
HUGE = osp.join(REPO, 'configs', 'mcf', 'mcf_vit-huge-p14_fsdp-8xb32-accum16-bf16-16e_laion-face-224px.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')


def fsdp_config(tmp_path, teacher: str, faces: str, base: str, name: str = 'tiny_fsdp.py', **kwargs) -> str:
    """A config inheriting ``base`` (an FSDP config) with the tiny test model, data and CPU settings."""
    text = tiny_overrides(teacher, faces, **kwargs).replace(osp.join(REPO, 'configs', 'mcf', 'pretrain.py'), base)
    assert base in text
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def vit_params(dims: int, layers: int, patch: int, img: int = 224, final_norm: bool = True) -> int:
    """Parameters of a ViT from its sizes: patch embedding, class token, position table, blocks, final norm."""
    tokens = (img // patch) ** 2 + 1
    block = 4 * dims * dims + 4 * dims + 2 * (4 * dims * dims) + 5 * dims + 4 * dims  # attention, MLP, 2 norms
    return 3 * patch * patch * dims + dims + dims + tokens * dims + layers * block + 2 * dims * final_norm


@pytest.mark.parametrize(
    'config, dims, layers, patch, batch, accum',
    [(LARGE, 1024, 24, 16, 64, 8), (HUGE, 1280, 32, 14, 32, 16)],
    ids=['vit-large', 'vit-huge'],
)
def test_large_and_huge_configs_build_on_the_meta_device(tiny_teacher, config, dims, layers, patch, batch, accum):
    cfg = Config.fromfile(config)
    assert cfg.runner_type == 'FaceFlexibleRunner' and cfg.strategy.type == 'FaceFSDPStrategy'
    wrapper = cfg.strategy.model_wrapper
    assert wrapper.type == 'MCFShardedDataParallel' and wrapper.activation_checkpointing
    assert wrapper.ignored_module_names == ('target_generator',)
    assert wrapper.mixed_precision.param_dtype == 'bfloat16' and cfg.optim_wrapper.type == 'OptimWrapper'
    assert batch * 8 * cfg.optim_wrapper.accumulative_counts == 4096 and cfg.optim_wrapper.accumulative_counts == accum
    assert cfg.train_dataloader.batch_size == batch and cfg.param_scheduler[0].window == accum
    assert cfg.model.ema_update == 'step' and cfg.model.momentum == pytest.approx(0.99**accum)
    teacher = cfg.model.target_generator
    assert teacher.checkpoint == 'checkpoints/mocov3_vit-base-300ep.pth.tar'  # the ViT-B/16 teacher stays
    assert (cfg.model.neck.decoder_embed_dim, cfg.model.neck.decoder_depth, cfg.model.neck.num_patches) == (
        512,
        8,
        (224 // patch) ** 2,
    )
    teacher.update(checkpoint=tiny_teacher, out_indices=(0, 1), img_size=32, num_heads=2)  # a file that exists
    init_default_scope('mcf_mm')
    with torch.device('meta'):  # no memory for the 0.6-1.3 B parameters
        model = MODELS.build(cfg.model)
    assert next(model.backbone.parameters()).is_meta
    assert sum(p.numel() for p in model.backbone.parameters()) == vit_params(dims, layers, patch)
    assert sum(p.numel() for p in model.target['backbone'].parameters()) == vit_params(dims, layers, patch)
    kinds = block_types(model)
    assert all(isinstance(b, kinds) for b in [*model.backbone.layers, *model.neck.decoder_blocks])


def test_wrapper_refuses_micro_step_ema_and_foreign_policies(tiny_config):
    cfg = Config.fromfile(tiny_config(ema_update='micro_step'))
    init_default_scope('mcf_mm')
    model = MODELS.build(cfg.model)
    with pytest.raises(ValueError, match="ema_update='micro_step'.*use 'step'.*momentum = m \\*\\* accumulative"):
        MCFShardedDataParallel(model)
    model.ema_update = 'step'
    with pytest.raises(ValueError, match='auto_wrap_policy is set by MCFShardedDataParallel'):
        MCFShardedDataParallel(model, auto_wrap_policy='size_based_auto_wrap_policy')
    with pytest.raises(KeyError, match=r"\['teacher'\] are not submodules"):
        MCFShardedDataParallel(model, ignored_module_names=('teacher',))
    with pytest.raises(TypeError, match='wraps an MCF model'):
        MCFShardedDataParallel(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="state_dict_cfg='sharded'.*'full' or 'local'"):
        FaceFSDPStrategy(state_dict_cfg='sharded')


def test_trainable_only_keeps_exactly_the_params_that_require_grad():
    frozen, trained = torch.nn.Linear(3, 3), torch.nn.Linear(3, 2)
    frozen.requires_grad_(False)
    opt = torch.optim.AdamW(
        [{'params': [frozen.bias]}, {'params': [frozen.weight, trained.weight], 'lr': 0.1}, {'params': [trained.bias]}]
    )
    trainable_only(opt)
    assert [[id(p) for p in g['params']] for g in opt.param_groups] == [[id(trained.weight)], [id(trained.bias)]]
    assert opt.param_groups[0]['lr'] == 0.1
    trained(torch.ones(1, 3)).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match='without state'):
        trainable_only(opt)


def torchrun(*args, timeout: int = 400) -> subprocess.CompletedProcess:
    cmd = ['python', '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(free_port()), *args]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout, cwd=REPO)


@pytest.mark.slow
def test_two_gloo_processes_train_ema_checkpoints_and_hostile_files(tmp_path, tiny_teacher, face_folder):
    """The worker (tests/mcf_fixtures/fsdp_worker.py) asserts each property on both ranks and logs it."""
    config = fsdp_config(tmp_path, tiny_teacher, face_folder, LARGE)
    work = str(tmp_path / 'work')
    run = torchrun(osp.join(REPO, 'tests', 'mcf_fixtures', 'fsdp_worker.py'), config, work)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    checks = [
        'optimiser_trainable_only',
        'teacher_replicated_not_sharded',
        'ema_step_equals_formula_on_full_params',
        'full_checkpoint_round_trip',
        'sharded_checkpoint_round_trip',
        'hostile_refused',
        'resume_runs_no_config_text',
    ]
    for rank in (0, 1):
        assert open(osp.join(work, f'checks_rank{rank}.txt')).read().split() == checks
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'Epoch(train) [1][2/2]' in log and 'loss_contrast' in log
    # the full checkpoint loads strictly into the model without FSDP (the teacher's keys come from its file)
    ckpt = read_runner_checkpoint(osp.join(work, 'full.pth'))
    init_default_scope('mcf_mm')
    plain = MODELS.build(Config.fromfile(config).model)
    plain.load_state_dict(ckpt['state_dict'], strict=True)
    name = 'target.backbone.layers.1.attn.qkv.weight'
    assert torch.equal(plain.state_dict()[name], ckpt['state_dict'][name])


@pytest.mark.slow
def test_dist_train_sh_huge_config_sharded_checkpoints_and_resume(tmp_path, tiny_teacher, face_folder):
    """tools/dist_train.sh trains the ViT-H FSDP config (tiny overrides) on 2 processes with sharded checkpoints
    (a folder of rank files) and --resume continues from them."""
    config = fsdp_config(tmp_path, tiny_teacher, face_folder, HUGE)
    work = str(tmp_path / 'huge')
    common = ['--work-dir', work, '--launcher', 'pytorch', '--cfg-options', 'strategy.state_dict_cfg=local']
    train = osp.join(REPO, 'tools', 'train.py')
    run = torchrun(train, config, *common)
    assert run.returncode == 0, run.stderr[-5000:]
    assert sorted(os.listdir(osp.join(work, 'epoch_1.pth'))) == ['rank0.pth', 'rank1.pth']
    shard = torch.load(osp.join(work, 'epoch_1.pth', 'rank0.pth'), map_location='cpu', weights_only=True)
    assert shard['meta']['world_size'] == 2 and shard['meta']['state_dict_cfg'] == 'local'
    run = torchrun(train, config, *common, 'train_cfg.max_epochs=2', 'param_scheduler.0.end=2', '--resume')
    assert run.returncode == 0, run.stderr[-5000:]
    assert sorted(os.listdir(osp.join(work, 'epoch_2.pth'))) == ['rank0.pth', 'rank1.pth']
    logs = sorted(glob.glob(osp.join(work, '*', '*.log')))
    assert 'resumed epoch: 1, iter: 2' in open(logs[-1]).read()
    assert 'Epoch(train) [2][2/2]' in open(logs[-1]).read()


def test_train_py_refuses_amp_for_strategy_configs_and_keeps_it_for_runner_configs(tiny_config, tmp_path):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location('train_tool', osp.join(REPO, 'tools', 'train.py'))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    argv = sys.argv
    try:
        sys.argv = ['train.py', LARGE, '--amp']
        args = train.parse_args()
    finally:
        sys.argv = argv
    with pytest.raises(SystemExit, match='trains through a strategy.*Drop --amp'):
        train.merge_args(Config.fromfile(LARGE), args)
    if not torch.cuda.is_available():  # the Runner configs' behaviour on this CPU machine, unchanged
        args.config = tiny_config()
        with pytest.raises(SystemExit, match='--amp needs a CUDA GPU'):
            train.merge_args(Config.fromfile(args.config), args)


def test_memory_estimate_counts_and_measures_saved_activations(tiny_config):
    from mcf_mm.engine.fsdp_memory import part_counts, saved_activation_bytes, state_bytes

    cfg = Config.fromfile(tiny_config())
    init_default_scope('mcf_mm')
    model = MODELS.build(cfg.model)
    counts = part_counts(model)
    online = [model.backbone, model.neck, model.projector, model.contrast_head]
    assert counts['trainable'] == sum(p.numel() for m in online for p in m.parameters() if p.requires_grad)
    assert counts['teacher'] == sum(p.numel() for p in model.target_generator.parameters())
    states = state_bytes(counts, world_size=4, largest_block=100)
    assert states['adamw'] == 2 * states['weights'] == 8 * counts['trainable'] / 4
    assert states['teacher'] == 4 * counts['teacher'] and states['gathered_units'] == 400
    plain = saved_activation_bytes(MODELS.build(cfg.model), batch=2, img_size=32, checkpointing=False)
    ckpt = saved_activation_bytes(MODELS.build(cfg.model), batch=2, img_size=32, checkpointing=True)
    # a 32-d token of bf16 is 64 bytes: the encoder keeps at least its visible tokens for one of its 2 blocks
    assert plain > ckpt > 2 * 5 * 32 * 2
    # affine in the batch (a batch-independent part: bf16 weight copies), so the slope is the per-image cost
    three, four = (saved_activation_bytes(MODELS.build(cfg.model), n, 32, False) for n in (3, 4))
    assert abs((four - three) - (three - plain)) < 0.05 * (three - plain) and three - plain > 0
