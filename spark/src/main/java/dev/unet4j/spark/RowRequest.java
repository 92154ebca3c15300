package dev.unet4j.spark;

/**
 * One input row as a generation request, with the row's own settings where it has them.
 *
 * @param prompt         the prompt (text-to-image models), or null
 * @param negativePrompt the negative prompt, or null (= the empty string, as diffusers)
 * @param seed           the seed the row runs with (its own, else derived from its fields, see {@link RowSeeds})
 * @param classLabel     the class (class-conditional models), or null
 * @param steps          inference steps
 * @param guidance       classifier-free guidance scale
 * @param height         image height; 0 = the model's default
 * @param width          image width; 0 = the model's default
 * @param initImage      img2img start image as PNG bytes, or null
 */
record RowRequest(String prompt, String negativePrompt, long seed, Integer classLabel, int steps, double guidance,
                  int height, int width, byte[] initImage) {
}
