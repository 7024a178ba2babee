# Test-only companion of the FASSEG V2 configs: evaluate a V2-trained checkpoint on the V3 multi-pose test
# set (13 yaw angles in train, 6 in test; pairs whose image and label sizes differ are dropped, see log).
#   python tools/test.py configs/face_parsing/<this file> work_dirs/<v2 run>/epoch_20.pth
_base_ = ['./vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py']
test_dataloader = dict(dataset=dict(version='V3'))
