# The paper's recipe under a short name: tools/dist_train.sh configs/mcf/pretrain.py 8
_base_ = ['./mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py']
