"""Teacher/student GAN compression trainers (DCGAN, W-DCGAN, knowledge distillation) and the
recipe for the bundled domain classifiers. Their outputs are scored by the gan-eval engine."""
