"""MCF (Mask Contrastive Face): frozen-teacher MIM + contrastive learning between two masked views."""

import copy
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.optim import OptimWrapper
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import Tensor, nn
from torch.profiler import record_function

from mcf_mm.registry import MODELS

EMA_MODES = ('step', 'micro_step')
TEACHER_BATCHES = ('separate', 'concat')
LINEAR_INITS = ('default', 'xavier_uniform')


def unpatchify(x: Tensor, patch_size: int, grid: Tuple[int, int], channels: int = 3) -> Tensor:
    """[N, L, p*p*C] patch predictions -> [N, C, h*p, w*p] image (MAE ordering)."""
    n, (h, w), p = x.shape[0], grid, patch_size
    x = x.reshape(n, h, w, p, p, channels)
    return torch.einsum('nhwpqc->nchpwq', x).reshape(n, channels, h * p, w * p)


@torch.compiler.disable
def _update_params(optim_wrapper: OptimWrapper, loss: Tensor) -> None:
    """``optim_wrapper.update_params(loss)`` (backward, step, zero_grad), never traced by torch.compile."""
    optim_wrapper.update_params(loss)


@MODELS.register_module()
class MCF(BaseSelfSupervisor):
    """MCF pre-training algorithm.

    Parts: ``backbone`` = online encoder (:class:`FaceViT`), ``neck`` = MAE decoder that
    predicts a pseudo image, ``target_generator`` = frozen teacher, ``head`` = feature distillation head,
    ``projector`` (online, EMA-copied for the target), ``contrast_head`` = predictor + InfoNCE.

    Args:
        momentum: EMA coefficient of the target encoder/projector (target = m·target + (1-m)·online).
        ema_update: 'step' updates once per real optimiser step, as the optim wrapper reports it
            (``should_update()``), so its ``accumulative_counts`` is the only source; 'micro_step' on every
            forward (the original code, which under gradient accumulation updates that many times per step).
        accumulative_counts: optional, and only checked: if given it must equal the optim wrapper's
            ``accumulative_counts`` (refused at the first train step otherwise). Leave it out.
        symmetric: add a second InfoNCE term from one more online pass (a fresh random mask) against fresh
            target keys (another random mask); False (the original) computes the one term.
        linear_init: 'default' keeps each part's own initialisation (mmpretrain's; the decoder's blocks, kept
            in a plain ModuleList, are never initialised); 'xavier_uniform' (the original code) re-initialises
            every Linear of the encoder, decoder, projector and predictor xavier-uniform with zero bias after
            the parts' own init. The frozen teacher is never touched, whatever ``init_cfg`` says.
        teacher_batch: how the frozen teacher sees the real and the pseudo image: 'separate' (the original
            code: two forwards, the real one without autograd) or 'concat' (one forward of both, stacked along
            the batch, the real half detached). The losses and gradients are the same (a test proves it); only
            the speed differs: 'concat' launches half the teacher's kernels, but its backward also runs through
            the real half (zero gradients; +25% FLOPs per ViT-S step), so it measured slower on CPU (docs/speed.md).
    """

    def __init__(
        self,
        backbone: dict,
        neck: dict,
        head: dict,
        target_generator: dict,
        projector: dict,
        contrast_head: dict,
        momentum: float = 0.99,
        ema_update: str = 'step',
        accumulative_counts: Optional[int] = None,
        symmetric: bool = False,
        linear_init: str = 'default',
        teacher_batch: str = 'separate',
        data_preprocessor: Optional[dict] = None,
        init_cfg=None,
    ) -> None:
        if ema_update not in EMA_MODES:
            raise ValueError(f'ema_update={ema_update!r} is invalid; choose one of {EMA_MODES}.')
        if linear_init not in LINEAR_INITS:
            raise ValueError(f'linear_init={linear_init!r} is invalid; choose one of {LINEAR_INITS}.')
        if teacher_batch not in TEACHER_BATCHES:
            raise ValueError(f'teacher_batch={teacher_batch!r} is invalid; choose one of {TEACHER_BATCHES}.')
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f'momentum={momentum} must lie in [0, 1) (MCF: 0.99).')
        if accumulative_counts is not None and accumulative_counts < 1:
            raise ValueError(f'accumulative_counts={accumulative_counts} must be >= 1.')
        # Build the teacher first: a bad teacher config fails before any other construction work.
        teacher = MODELS.build(target_generator)
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            target_generator=None,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )
        self.target_generator = teacher
        self.projector = MODELS.build(projector)
        self.contrast_head = MODELS.build(contrast_head)
        self.target = nn.ModuleDict(
            dict(backbone=copy.deepcopy(self.backbone), projector=copy.deepcopy(self.projector))
        )
        self.target.requires_grad_(False)
        self.momentum = momentum
        self.ema_update = ema_update
        self.accumulative_counts = accumulative_counts
        self.symmetric = symmetric
        self.linear_init = linear_init
        self.teacher_batch = teacher_batch
        self.register_buffer('forward_count', torch.zeros((), dtype=torch.long))

    def init_weights(self) -> None:
        """Parts' own init (a model-level ``init_cfg`` first), optional xavier Linears, then target = online.

        The teacher is hidden from mmengine's traversal meanwhile (its slot emptied in place, so the
        module order is kept): a model-level ``init_cfg`` would otherwise overwrite its loaded weights.
        """
        teacher = self._modules['target_generator']
        self._modules['target_generator'] = None
        try:
            super().init_weights()
        finally:
            self._modules['target_generator'] = teacher
        if self.linear_init == 'xavier_uniform':
            for part in (self.backbone, self.neck, self.projector, self.contrast_head.predictor):
                for module in part.modules():
                    if isinstance(module, nn.Linear):
                        nn.init.xavier_uniform_(module.weight)
                        if module.bias is not None:
                            nn.init.zeros_(module.bias)
        self._copy_to_target()

    @torch.no_grad()
    def _copy_to_target(self) -> None:
        for online, target in self._param_pairs():
            target.data.copy_(online.data)

    def _param_pairs(self):
        for name in ('backbone', 'projector'):
            yield from zip(getattr(self, name).parameters(), self.target[name].parameters())

    @torch.no_grad()
    def momentum_update(self) -> None:
        """target ← m·target + (1 − m)·online, for the encoder and the projector."""
        for online, target in self._param_pairs():
            target.data.mul_(self.momentum).add_(online.data, alpha=1.0 - self.momentum)

    def _check_optim_wrapper(self, optim_wrapper: OptimWrapper) -> None:
        """Refuse a wrapper the 'step' EMA cannot follow, or one whose accumulation differs from ours."""
        if self.ema_update == 'step' and not hasattr(optim_wrapper, 'should_update'):
            raise TypeError(
                f"ema_update='step' follows OptimWrapper.should_update(), which "
                f'{type(optim_wrapper).__name__} lacks: use an OptimWrapper/AmpOptimWrapper.'
            )
        counts = getattr(optim_wrapper, '_accumulative_counts', None)
        if self.accumulative_counts is not None and counts != self.accumulative_counts:
            raise ValueError(
                f'model.accumulative_counts={self.accumulative_counts} but optim_wrapper.accumulative_counts='
                f'{counts}: the EMA would not follow the real optimiser steps. Remove model.accumulative_counts '
                '(the EMA reads the optim wrapper) or set both to the same value.'
            )
        self._wrapper_checked = True

    @torch.compiler.disable
    def before_step(self, optim_wrapper: OptimWrapper) -> None:
        """The pre-step of :meth:`train_step`: check the wrapper once, then the 'step' EMA catch-up.

        Read before this step's backward, ``optim_wrapper.should_update()`` still answers for the previous
        step (the wrapper counts calls in ``backward``; on resume the loop restores the count from the
        iteration). So the target moves exactly once after every real optimiser step, and before the keys of
        the next step are computed (MoCo-v3 order), whatever ``accumulative_counts`` the wrapper has.
        A wrapper that runs its own train step (e.g. an FSDP strategy's) calls this before the forward.

        Args:
            optim_wrapper: the wrapper whose ``should_update()`` says whether the last step stepped.
        """
        if not getattr(self, '_wrapper_checked', False):
            self._check_optim_wrapper(optim_wrapper)
        if self.ema_update == 'step' and int(self.forward_count) > 0 and optim_wrapper.should_update():
            with record_function('mcf/ema_update'):
                self.momentum_update()

    def train_step(self, data: Union[dict, tuple, list], optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """mmengine's train step (preprocess, loss, update) after :meth:`before_step` (the 'step' EMA catch-up).

        The same steps as ``BaseModel.train_step``, with the pre-step and the parameter update kept out of
        ``torch.compile`` (the Runner's ``compile`` key wraps this method; dynamo cannot trace the optimiser's
        step), so only the forward is compiled.
        """
        self.before_step(optim_wrapper)
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        parsed_losses, log_vars = self.parse_losses(losses)
        _update_params(optim_wrapper, parsed_losses)
        return log_vars

    def _maybe_momentum_update(self) -> None:
        """'micro_step': update the target on every forward but the first, before the keys are computed."""
        if self.ema_update == 'micro_step' and int(self.forward_count) > 0:
            self.momentum_update()
        self.forward_count += 1

    # ------------------------------------------------------------------ passes
    def pseudo_image(self, tokens: Tensor, ids_restore: Tensor) -> Tensor:
        """Decode visible tokens [N, 1+K, D] into a pseudo image [N, 3, H, W] (normalised space)."""
        pred = self.neck(tokens, ids_restore)  # [N, L, p*p*3]
        return unpatchify(pred, self.backbone.patch_size, self.backbone.patch_resolution)

    @torch.no_grad()
    def _target_keys(self, img: Tensor) -> Tensor:
        tokens, _, _ = self.target['backbone'].forward_masked(img)  # independent mask
        return self.target['projector']([tokens[:, 0]])[0]  # [N, C]

    def _teacher_feats(self, img: Tensor, pseudo: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """Teacher features of the real [N, 3, H, W] (no gradient) and the pseudo image (with), per
        ``teacher_batch``; each a list of [N, T, D], one per teacher output block."""
        if self.teacher_batch == 'concat':
            with record_function('mcf/teacher_concat'):
                n = img.shape[0]
                feats = self.target_generator(torch.cat([img, pseudo.type_as(img)]))  # per block [2N, T, D]
                return [f[:n].detach() for f in feats], [f[n:] for f in feats]
        with record_function('mcf/teacher_real'), torch.no_grad():
            real_feats = self.target_generator(img)
        with record_function('mcf/teacher_pseudo'):
            pseudo_feats = self.target_generator(pseudo)
        return real_feats, pseudo_feats

    def loss(self, inputs: Tensor, data_samples: List[DataSample], **kwargs) -> Dict[str, Tensor]:
        """Returns ``loss_mim`` (weighted distillation) and ``loss_contrast`` (weighted InfoNCE).

        Each part runs under a ``torch.profiler.record_function`` label ``mcf/<part>`` so that profilers
        (and tools/analysis_tools/benchmark_pretrain.py) can break the step time down.
        """
        img = inputs[0] if isinstance(inputs, (list, tuple)) else inputs  # [N, 3, H, W]
        with record_function('mcf/ema_update'):
            self._maybe_momentum_update()
        with record_function('mcf/online_encoder'):
            tokens, _, ids_restore = self.backbone.forward_masked(img)  # [N, 1+K, D]
        with record_function('mcf/decoder'):
            pseudo = self.pseudo_image(tokens, ids_restore)  # [N, 3, H, W]
        real_feats, pseudo_feats = self._teacher_feats(img, pseudo)
        with record_function('mcf/heads'):
            losses = dict(loss_mim=self.head.loss(pseudo_feats, real_feats))
            q = self.projector([tokens[:, 0]])[0]  # [N, C]
        with record_function('mcf/target_encoder'):
            k = self._target_keys(img)
        with record_function('mcf/heads'):
            loss_con = self.contrast_head.loss(q, k)
        if self.symmetric:
            with record_function('mcf/online_encoder'):
                tokens2, _, _ = self.backbone.forward_masked(img)
            with record_function('mcf/target_encoder'):
                k2 = self._target_keys(img)
            with record_function('mcf/heads'):
                loss_con = loss_con + self.contrast_head.loss(self.projector([tokens2[:, 0]])[0], k2)
        losses['loss_contrast'] = loss_con
        return losses

    @torch.no_grad()
    def reconstruct(self, img: Tensor) -> Dict[str, Tensor]:
        """For visualisation: masked input and pseudo image, both [N, 3, H, W] in normalised space."""
        tokens, mask, ids_restore = self.backbone.forward_masked(img)
        pseudo = self.pseudo_image(tokens, ids_restore)
        p = self.backbone.patch_size
        h, w = self.backbone.patch_resolution
        pixel_mask = mask.reshape(-1, h, w, 1, 1).expand(-1, h, w, p, p)
        pixel_mask = pixel_mask.permute(0, 1, 3, 2, 4).reshape(-1, 1, h * p, w * p)  # [N, 1, H, W]
        return dict(masked=img * (1 - pixel_mask), pseudo=pseudo, mask=pixel_mask)
