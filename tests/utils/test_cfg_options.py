"""--cfg-options: keys that exist or that the built class accepts pass; typos are refused with the closest key."""

import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from torch import nn

from mcf_mm.utils.cfg_options import _params, check_cfg_options, merge_cfg_options, split_opt_in


@pytest.fixture(scope='module')
def mcf_cfg(repo_root) -> Config:
    return Config.fromfile(osp.join(repo_root, 'configs', 'mcf', 'pretrain.py'))


def refused(cfg: Config, options: dict) -> str:
    with pytest.raises(ValueError) as err:
        merge_cfg_options(cfg, options)
    return str(err.value)


@pytest.mark.parametrize(
    'key, closest',
    [
        ('trian_cfg.max_epochs', 'train_cfg'),  # a new top-level key
        ('train_cfg.max_epoch', 'train_cfg.max_epochs'),  # EpochBasedTrainLoop has no such argument
        ('model.backbone.drop_pth_rate', 'model.backbone.drop_path_rate'),  # FaceViT's signature
        ('model.target_generator.chekpoint', 'model.target_generator.checkpoint'),
        ('optim_wrapper.optimizer.weight_dcay', 'optim_wrapper.optimizer.weight_decay'),  # torch's AdamW
        ('train_dataloader.batchsize', 'train_dataloader.batch_size'),  # torch's DataLoader
        ('default_hooks.logger.intervl', 'default_hooks.logger.interval'),  # LoggerHook
        ('env_cfg.cudnn_benchmrk', 'env_cfg.cudnn_benchmark'),
        ('train_dataloader.dataset.pipeline.0.interpolaton', 'train_dataloader.dataset.pipeline.0.interpolation'),
    ],
)
def test_typos_are_refused_with_the_closest_key_and_nothing_merged(mcf_cfg, key, closest):
    cfg = mcf_cfg.copy()
    before = cfg.to_dict()
    message = refused(cfg, {key: 1})
    assert key in message and f'`{closest}' in message and f'+{key}=' in message
    assert cfg.to_dict() == before


def test_the_issues_init_cfg_typo_is_refused_with_the_pretrained_keys(mcf_cfg):
    cfg = mcf_cfg.copy()
    assert 'init_cfg' not in cfg.model.backbone
    message = refused(cfg, {'model.backbone.init_cfg.chekpoint': 'x.pth'})
    assert '`model.backbone.init_cfg.checkpoint`' in message and 'type=Pretrained' in message
    message = refused(cfg, {'model.backbone.init_cfg.type': 'Pretrained', 'model.backbone.init_cfg.chekpoint': 'x'})
    assert 'PretrainedInit' in message and '`model.backbone.init_cfg.checkpoint`' in message


def test_existing_keys_and_new_valid_arguments_are_merged(mcf_cfg):
    cfg = mcf_cfg.copy()
    merge_cfg_options(
        cfg,
        {
            'train_cfg.max_epochs': 2,
            'param_scheduler.0.end': 2,  # existing keys, one inside a list
            'model.backbone.drop_path_rate': 0.1,  # FaceViT's __init__ argument, absent from the config
            'train_cfg.val_begin': 3,  # EpochBasedTrainLoop's
            'train_dataloader.drop_last': True,  # DataLoader's
            'model.backbone.init_cfg.type': 'Pretrained',
            'model.backbone.init_cfg.checkpoint': 'x.pth',
            'model.backbone.init_cfg.branch': 'target',  # read by FaceViT.init_weights itself
            'default_hooks.checkpoint.save_best': 'auto',  # CheckpointHook keeps **kwargs itself
            'load_from': 'x.pth',
            'model_wrapper_cfg.type': 'MMDistributedDataParallel',  # Runner inputs
        },
    )
    assert cfg.train_cfg.max_epochs == 2 and cfg.param_scheduler[0].end == 2 and cfg.train_dataloader.drop_last
    assert cfg.model.backbone.drop_path_rate == 0.1 and cfg.train_cfg.val_begin == 3
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint='x.pth', branch='target')


def test_plus_adds_a_key_on_purpose_and_list_indices_are_bounded(mcf_cfg):
    assert split_opt_in({'+a.b': 1, 'c': 2}) == ({'a.b': 1, 'c': 2}, {'a.b'})
    cfg = mcf_cfg.copy()
    merge_cfg_options(cfg, {'+my_note': 'ablation 3', '+model.backbone.my_arg': 1})
    assert cfg.my_note == 'ablation 3' and cfg.model.backbone.my_arg == 1
    n = len(cfg.param_scheduler)
    assert f'list of {n}: index it with 0..{n - 1}' in refused(cfg, {f'param_scheduler.{n}.end': 2})
    assert 'Runner' in refused(cfg, {'my_other_note': 1})


def test_types_resolve_in_the_config_scope_mmseg_and_mmpose(tmp_path):
    seg = tmp_path / 'seg.py'
    seg.write_text(
        "default_scope = 'mmseg'\nmodel = dict(type='EncoderDecoder', decode_head=dict(\n"
        "    type='UPerHead', in_channels=[8], channels=8, num_classes=3,\n"
        "    loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)))\n"
    )
    cfg = Config.fromfile(str(seg))
    message = refused(cfg, {'model.decode_head.num_clases': 5})
    assert 'UPerHead' in message and '`model.decode_head.num_classes`' in message
    merge_cfg_options(cfg, {'model.decode_head.dropout_ratio': 0.2, 'model.decode_head.loss_decode.avg_non_ignore': 1})
    pose = tmp_path / 'pose.py'
    pose.write_text(
        "default_scope = 'mmpose'\n"
        "codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=2)\n"
        "model = dict(type='TopdownPoseEstimator', head=dict(type='HeatmapHead', in_channels=8,\n"
        '    out_channels=5, decoder=codec))\n'
    )
    cfg = Config.fromfile(str(pose))
    assert '`model.head.decoder.sigma`' in refused(cfg, {'model.head.decoder.sigam': 3})
    merge_cfg_options(cfg, {'model.head.decoder.unbiased': True, 'model.head.deconv_out_channels': (8,)})
    assert cfg.model.head.decoder.unbiased is True


class Chained(nn.Module):
    def __init__(self, width: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)


def test_signature_walk_follows_kwargs_up_the_class_chain():
    assert _params(Chained) == {'width'}  # **kwargs that end at nn.Module accept nothing more
    assert _params(CheckpointHook) is None  # a hook that keeps its **kwargs accepts any keyword
    assert _params(lambda a, *, b=1: None) == {'a', 'b'}


def test_no_options_change_nothing(mcf_cfg):
    check_cfg_options(mcf_cfg, {})
    check_cfg_options(mcf_cfg, None)
