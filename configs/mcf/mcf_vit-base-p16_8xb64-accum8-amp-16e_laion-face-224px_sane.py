# The recipe with the "sane" switches instead of the faithful ones: EMA once per optimiser step,
# channel-wise feature normalisation, symmetric InfoNCE.
_base_ = ['./mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py']
model = dict(ema_update='step', symmetric=True, head=dict(norm_dim='channel'))
