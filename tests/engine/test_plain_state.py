"""The plain checkpoint form: weights-only readable with no extra globals, rebuilt exactly, mmpose/mmseg meta."""

import io
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mcf_mm.engine import from_plain, to_plain
from mcf_mm.engine.hooks.rng_state_hook import numpy_state_from_plain, numpy_state_to_plain


def weights_only_round_trip(obj):
    """torch.save then torch.load(weights_only=True) with torch's default allow-list only."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def numpy_rich_state() -> dict:
    buf = HistoryBuffer([1.0, 2.5, 4.0], [1, 2, 1], max_length=7)
    return OrderedDict(
        message_hub=dict(
            log_scalars=OrderedDict([('train/loss', buf)]),
            runtime_info=OrderedDict(best_score=np.float64(0.125), keep=[np.int64(3)], iter=8),
        ),
        meta=dict(
            dataset_meta=dict(
                sigmas=np.array([0.1, 0.2], np.float32),
                colors=np.arange(6, dtype=np.uint8).reshape(2, 3),
                names=np.array(['a', 'bc']),
                objs=np.array([None, {'k': 1}], dtype=object),
                big_endian=np.array([1.5, -2.0], dtype='>f8'),
                flag=np.bool_(True),
                frozen=frozenset({1, 2}),
                classes=('skin', 'hair'),
                palette=[[0, 0, 0]],
            )
        ),
        rng=('MT19937', np.arange(624, dtype=np.uint32), 5, 0, 0.0),
        state_dict=OrderedDict(w=torch.ones(2)),
    )


def test_plain_form_loads_weights_only_and_rebuilds_exactly():
    state = numpy_rich_state()
    widened = {getattr(g, '__module__', str(g)).split('.')[0] for g in torch.serialization.get_safe_globals()}
    assert widened <= {'builtins', 'torch', 'traceback'}  # torch's own additions only: nothing numpy/mmengine
    with pytest.raises(Exception, match='Weights only load failed'):
        weights_only_round_trip(state)  # the raw mmengine/numpy form is refused ...
    loaded = weights_only_round_trip(to_plain(state))  # ... the plain form is read with no extra globals
    back = from_plain(loaded)
    assert set(back) == set(state)
    dm, want = back['meta']['dataset_meta'], state['meta']['dataset_meta']
    for key in ('sigmas', 'colors', 'names', 'big_endian'):
        assert isinstance(dm[key], np.ndarray) and dm[key].dtype == want[key].dtype
        np.testing.assert_array_equal(dm[key], want[key])
    assert dm['objs'].dtype == object and dm['objs'][0] is None and dm['objs'][1] == {'k': 1}
    assert type(dm['flag']) is np.bool_ and dm['frozen'] == frozenset({1, 2})
    assert dm['classes'] == ('skin', 'hair') and dm['palette'] == [[0, 0, 0]]
    info = back['message_hub']['runtime_info']
    assert type(info['best_score']) is np.float64 and info['best_score'] == 0.125
    assert type(info['keep'][0]) is np.int64 and info['iter'] == 8
    hb = back['message_hub']['log_scalars']['train/loss']
    assert isinstance(hb, HistoryBuffer) and hb.max_length == 7
    assert hb.mean(3) == pytest.approx((1.0 + 2.5 + 4.0) / (1 + 2 + 1)) and hb.current() == 4.0  # count-weighted
    np.testing.assert_array_equal(hb.data[1], [1, 2, 1])
    name, key, pos, has_gauss, gauss = back['rng']
    assert key.dtype == np.uint32 and np.array_equal(key, np.arange(624)) and (pos, has_gauss, gauss) == (5, 0, 0.0)
    assert torch.equal(back['state_dict']['w'], torch.ones(2))


def test_readers_without_the_manifest_see_tensors_and_numbers():
    """mmengine.load_checkpoint / mmpose init_model read the file as it is: tensors for numeric arrays."""
    raw = weights_only_round_trip(to_plain(numpy_rich_state()))
    dm = raw['meta']['dataset_meta']
    assert torch.equal(dm['sigmas'], torch.tensor([0.1, 0.2])) and dm['colors'].dtype == torch.uint8
    assert dm['names'] == ['a', 'bc'] and raw['message_hub']['runtime_info']['best_score'] == 0.125


def test_mmpose_dataset_meta_draws_the_same_from_the_plain_form():
    from mmengine.structures import InstanceData
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.structures import PoseDataSample
    from mmpose.visualization import PoseLocalVisualizer

    from mcf_mm.downstream.alignment.datasets import landmark_metainfo

    meta = parse_pose_metainfo(landmark_metainfo('helen29', 29))
    raw = weights_only_round_trip(to_plain(dict(meta=dict(dataset_meta=meta))))['meta']['dataset_meta']
    rebuilt = from_plain(weights_only_round_trip(to_plain(dict(dataset_meta=meta))))['dataset_meta']
    for key, value in meta.items():
        if isinstance(value, np.ndarray):
            assert rebuilt[key].dtype == value.dtype and np.array_equal(rebuilt[key], value)
        else:
            assert rebuilt[key] == value
    sample = PoseDataSample()
    sample.pred_instances = InstanceData(
        keypoints=np.random.RandomState(0).rand(1, 29, 2) * 60, keypoint_scores=np.ones((1, 29))
    )
    images = []
    for i, dataset_meta in enumerate((meta, raw, rebuilt)):
        vis = PoseLocalVisualizer(name=f'plain_state_vis_{i}')
        vis.set_dataset_meta(dataset_meta)
        images.append(vis.add_datasample('x', np.zeros((64, 64, 3), np.uint8), sample, draw_gt=False, show=False))
    assert np.array_equal(images[0], images[1]) and np.array_equal(images[0], images[2])


def test_objects_without_a_plain_form_are_named():
    class Custom:
        pass

    with pytest.raises(TypeError, match=r"Custom at \['meta'\]\['hook'\]"):
        to_plain(dict(meta=dict(hook=Custom())))
    from collections import defaultdict

    with pytest.raises(TypeError, match='defaultdict'):
        to_plain(dict(x=defaultdict(list)))


def test_numpy_rng_state_plain_round_trip():
    rng = np.random.RandomState(3)
    rng.standard_normal()  # leaves a cached gaussian
    state = rng.get_state()
    plain = weights_only_round_trip(numpy_state_to_plain(state))
    other = np.random.RandomState(0)
    other.set_state(numpy_state_from_plain(plain))
    assert np.array_equal(other.random_sample(5), rng.random_sample(5))


def test_rng_states_are_gathered_only_where_a_checkpoint_may_follow():
    """Epoch loops: at an epoch's last batch; iteration loops: only at iteration checkpoints (their batch_idx
    is the global iteration, which would otherwise look like an epoch end at every iteration)."""
    from types import SimpleNamespace

    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

    from mcf_mm.engine.hooks.rng_state_hook import _checkpoint_due

    def runner(loop_cls):
        return SimpleNamespace(train_loop=object.__new__(loop_cls), train_dataloader=[0] * 4, hooks=[])

    epoch, it = runner(EpochBasedTrainLoop), runner(IterBasedTrainLoop)
    assert [_checkpoint_due(epoch, i) for i in range(4)] == [False, False, False, True]
    assert not any(_checkpoint_due(it, i) for i in range(12))
