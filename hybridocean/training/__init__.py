"""APHYNITY training: configuration, trainer, objective terms, history and checkpoints.

Typical use::

    model = HybridModel(DampedPendulum(friction=False, learnable=("omega0_sq",)), MLP(2, 200, 3))
    trainer = AphynityTrainer(model, AphynityConfig(tau1=1e-3, tau2=1.0, n_iter=5, epochs=50))
    history = trainer.fit(train, val)
    metrics = trainer.evaluate(test)    # {"mse", "log10_mse", "fa_norm2", "params"}
"""
from .checkpoint import load_checkpoint, save_checkpoint
from .config import AphynityConfig, IntegratorConfig
from .history import History
from .objective import augmentation_norm2, lagrangian, trajectory_loss
from .trainer import AphynityTrainer, NonFiniteLossError, TrajectoryTask

__all__ = [
    "AphynityConfig",
    "IntegratorConfig",
    "AphynityTrainer",
    "TrajectoryTask",
    "History",
    "NonFiniteLossError",
    "augmentation_norm2",
    "lagrangian",
    "trajectory_loss",
    "save_checkpoint",
    "load_checkpoint",
]
