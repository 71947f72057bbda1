"""The probe's tiny models: building, training (seeded, cached) and predicting.

- ``emoprobe.probe.training``: seeding, the optimisation loop with loss curves, progress, the training cache.
- ``emoprobe.probe.videomae``: the vision-only baseline, a tiny ``VideoMAEForVideoClassification``.

Submodules are imported on use, so ``import emoprobe.probe`` stays cheap.
"""
