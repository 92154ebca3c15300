package dev.unet4j.unet;

/** How a model class turns a {@link Timestep}'s Python type into the tensor it projects (fixtures note 4). */
public enum TimestepRule {
    /** UNet2DModel: {@code torch.tensor([t], dtype=torch.long)}, so a Python float 10.7 becomes 10. */
    TRUNCATE_PYTHON_FLOAT,
    /** UNet2DConditionModel: a Python float becomes a float64 tensor (then float32 in the sinusoid). */
    PYTHON_FLOAT_AS_FLOAT64
}
