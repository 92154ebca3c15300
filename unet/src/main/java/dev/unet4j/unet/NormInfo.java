package dev.unet4j.unet;

/**
 * A normalisation layer as built (compare with the fixtures' {@code meta.json norm_modules}).
 *
 * @param path     diffusers module path ({@code down_blocks.0.resnets.0.norm1})
 * @param type     {@code "GroupNorm"} or {@code "LayerNorm"}
 * @param groups   GroupNorm groups (0 for LayerNorm)
 * @param channels normalised channels
 * @param eps      epsilon
 */
public record NormInfo(String path, String type, int groups, int channels, double eps) {
}
