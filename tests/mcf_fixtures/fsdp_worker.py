"""One rank of the 2-process FSDP checks (run by torchrun from tests/engine/test_fsdp.py).

argv: CONFIG WORK_DIR. Builds the config's FaceFlexibleRunner (FSDP, gloo), trains its epoch, then on every rank
checks, against computations written here: the optimiser holds exactly the trainable parameters, the teacher is
whole on every rank and outside FSDP, the EMA of one train step equals the formula on the gathered full
parameters, full and sharded checkpoints round-trip, hostile files are refused. Each finished check is appended
to WORK_DIR/checks_rank{r}.txt; any failure raises (non-zero exit).
"""

import os
import os.path as osp
import sys

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import FlexibleRunner
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mcf_fixtures.hostile import marker_path, write_hostile_checkpoints  # noqa: E402
from mcf_mm.checkpoint import CheckpointFormatError  # noqa: E402
from mcf_mm.engine.fsdp import clean_name  # noqa: E402
from mcf_mm.registry import MODELS  # noqa: E402
from mcf_mm.utils.compat import setup_env  # noqa: E402

HOSTILE = ['top_zip', 'meta_zip', 'message_hub_legacy', 'numpy_object_zip', 'gadget_config_load']


def full_params(model) -> dict:
    """Every parameter of the FSDP model gathered whole (fp32), by its unsharded name, as a CPU copy."""
    with FSDP.summon_full_params(model, writeback=False):
        return {clean_name(n): p.detach().clone() for n, p in model.named_parameters()}


def local_shards(model) -> dict:
    return {clean_name(n): p.detach().clone() for n, p in model.named_parameters()}


def main() -> None:
    config, work = sys.argv[1], sys.argv[2]
    cfg = Config.fromfile(config)
    cfg.work_dir, cfg.launcher = work, 'pytorch'
    setup_env(cfg)  # gloo on this CPU machine, as tools/train.py does
    init_default_scope('mcf_mm')
    runner = RUNNERS.build(cfg)
    runner.train()
    rank, model, strategy = dist.get_rank(), runner.model, runner.strategy
    mcf = model.module
    log = open(osp.join(work, f'checks_rank{rank}.txt'), 'w')

    def done(name: str) -> None:
        log.write(name + '\n')
        log.flush()

    # --- the optimiser holds exactly the parameters that require grad; teacher and EMA target are not among them
    in_optim = {id(p) for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']}
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert in_optim == trainable, (len(in_optim), len(trainable))
    frozen = [*mcf.target_generator.parameters(), *mcf.target.parameters()]
    assert frozen and not any(id(p) in in_optim for p in frozen)
    plain = MODELS.build(cfg.model)  # the unsharded model: which names train
    plain_trainable = {n for n, p in plain.named_parameters() if p.requires_grad}
    names = {clean_name(n) for n, p in model.named_parameters() if id(p) in in_optim}
    assert names == plain_trainable and not any(n.startswith(('target.', 'target_generator.')) for n in names)
    done('optimiser_trainable_only')

    # --- the teacher is replicated whole (its parameters keep their unsharded shapes) and outside every FSDP unit
    plain_teacher = dict(plain.target_generator.named_parameters())
    teacher = {clean_name(n): p for n, p in mcf.target_generator.named_parameters()}
    assert {k: tuple(v.shape) for k, v in teacher.items()} == {k: tuple(v.shape) for k, v in plain_teacher.items()}
    flat = {id(h.flat_param) for m in FSDP.fsdp_modules(model) if m._handle is not None for h in [m._handle]}
    for p in mcf.target_generator.parameters():
        assert id(p) not in flat and not hasattr(p, '_fsdp_flattened')
    # the online blocks are sharded: each rank holds a part of a block, the two parts make the whole block
    qkv = 'backbone.layers.0.attn.qkv.weight'
    block = {n: p.numel() for n, p in local_shards(model).items() if n.startswith('backbone.layers.0.')}
    whole = sum(p.numel() for n, p in plain.named_parameters() if n.startswith('backbone.layers.0.'))
    held = torch.tensor(sum(block.values()))
    assert qkv in block and 0 < held < whole
    dist.all_reduce(held)
    assert held == whole
    done('teacher_replicated_not_sharded')

    # --- EMA of a real train step ('step' mode): target_new = m * target + (1 - m) * online_before_the_step
    batch = next(iter(runner.train_dataloader))
    before = full_params(model)
    model.train_step(batch, runner.optim_wrapper)
    after = full_params(model)
    m = mcf.momentum
    pairs = [(n, 'target.' + n) for n in before if n.startswith(('backbone.', 'projector.'))]
    assert pairs
    for online, target in pairs:
        want = m * before[target] + (1 - m) * before[online]
        torch.testing.assert_close(after[target], want, rtol=0, atol=1e-6)
    assert any(not torch.equal(after[n], before[n]) for n, _ in pairs), 'the step changed no online parameter'
    # every rank gathered the same full target
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, {t: after[t].sum().item() for _, t in pairs})
    assert all(g == gathered[0] for g in gathered)
    done('ema_step_equals_formula_on_full_params')

    # --- full checkpoint: one file, the unsharded model's keys and values; loads back exactly
    full_path = osp.join(work, 'full.pth')
    runner.save_checkpoint(work, 'full.pth')
    dist.barrier()
    ckpt = torch.load(full_path, map_location='cpu', weights_only=True)
    assert set(ckpt['state_dict']) == set(plain.state_dict())
    reference = full_params(model)
    for name, value in ckpt['state_dict'].items():
        if name in reference:
            torch.testing.assert_close(value, reference[name], rtol=0, atol=0)
    assert ckpt['meta']['state_dict_cfg'] == 'full' and ckpt['meta']['world_size'] == 2
    optim_before = {k: v for k, v in runner.optim_wrapper.state_dict()['state'].items()}
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad or p in set(mcf.target.parameters()):
                p.zero_()
    runner.resume(full_path)
    restored = full_params(model)
    for name, value in reference.items():
        torch.testing.assert_close(restored[name], value, rtol=0, atol=0)
    optim_after = runner.optim_wrapper.state_dict()['state']
    assert optim_before.keys() == optim_after.keys()
    for k in optim_before:
        for s in optim_before[k]:
            torch.testing.assert_close(optim_after[k][s], optim_before[k][s], rtol=0, atol=0)
    done('full_checkpoint_round_trip')

    # --- sharded ('local') checkpoint: a folder with one file per rank holding that rank's shards
    strategy._init_state_dict_cfg('local')
    shards = local_shards(model)
    runner.save_checkpoint(work, 'sharded')
    dist.barrier()
    own = torch.load(osp.join(work, 'sharded', f'rank{rank}.pth'), map_location='cpu', weights_only=True)
    assert sorted(os.listdir(osp.join(work, 'sharded'))) == ['rank0.pth', 'rank1.pth']
    for name, value in shards.items():
        if not name.startswith('target_generator.'):
            torch.testing.assert_close(own['state_dict'][name], value, rtol=0, atol=0)
    assert not any(k.startswith('target_generator.') for k in own['state_dict'])
    other = torch.load(osp.join(work, 'sharded', f'rank{1 - rank}.pth'), map_location='cpu', weights_only=True)
    full_numel = reference[qkv].numel()
    assert own['state_dict'][qkv].numel() + other['state_dict'][qkv].numel() == full_numel
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(1.0)
    runner.resume(osp.join(work, 'sharded'))
    for name, value in local_shards(model).items():
        torch.testing.assert_close(value, shards[name], rtol=0, atol=0)
    torch.testing.assert_close(full_params(model)[qkv], reference[qkv], rtol=0, atol=0)
    done('sharded_checkpoint_round_trip')

    # --- hostile files on both paths are refused and their payload never runs
    hostile_dir = osp.join(work, 'hostile')
    if rank == 0:
        os.makedirs(hostile_dir, exist_ok=True)
        files = write_hostile_checkpoints(hostile_dir)
        for name in HOSTILE:  # a sharded folder whose rank files are hostile
            os.makedirs(osp.join(hostile_dir, name + '_dir'), exist_ok=True)
            for r in range(2):
                os.link(files[name], osp.join(hostile_dir, name + '_dir', f'rank{r}.pth'))
    dist.barrier()
    for name in HOSTILE:
        try:
            runner.load_checkpoint(osp.join(hostile_dir, name + '_dir'))
        except CheckpointFormatError:
            pass
        else:
            raise AssertionError(f'sharded path loaded hostile {name}')
        assert not osp.exists(marker_path(hostile_dir)), name
    strategy._init_state_dict_cfg('full')
    for name in HOSTILE:
        for call in (runner.load_checkpoint, runner.resume):
            try:
                call(osp.join(hostile_dir, f'{name}.pth'))
            except CheckpointFormatError:
                pass
            else:
                raise AssertionError(f'full path loaded hostile {name}')
            assert not osp.exists(marker_path(hostile_dir)), name
    done('hostile_refused')

    # --- config text in a checkpoint's meta is never executed on resume; mmengine's FlexibleRunner.resume runs it
    planted = osp.join(work, 'planted.pth')
    flag = osp.join(work, f'CONFIG_RAN_{rank}')
    if rank == 0:
        payload = dict(torch.load(full_path, map_location='cpu', weights_only=True))
        code = "x = __import__('os').makedirs({!r} + __import__('os').environ['RANK'])\n"
        payload['meta'] = dict(payload['meta'], config=code.format(osp.join(work, 'CONFIG_RAN_')))
        torch.save(payload, planted)
    dist.barrier()
    runner.resume(planted)
    assert not osp.exists(flag)
    try:  # mmengine's own resume: the planted text runs (the payload is live)
        FlexibleRunner.resume(runner, planted)
    except Exception:  # what it does after running the text does not matter here
        pass
    assert osp.exists(flag)
    done('resume_runs_no_config_text')
    log.close()
    dist.barrier()


if __name__ == '__main__':
    main()
