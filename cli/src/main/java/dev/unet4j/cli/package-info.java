/**
 * The {@code unet4j} command line (picocli): {@code generate}, {@code encode-prompt}, {@code forward}, {@code segment},
 * {@code bench}, {@code inspect}, {@code quantize}, {@code serve}, and the bundled demo models. Entry point:
 * {@link dev.unet4j.cli.Main}. Not a library API: errors are printed as one line and an exit code.
 */
package dev.unet4j.cli;
