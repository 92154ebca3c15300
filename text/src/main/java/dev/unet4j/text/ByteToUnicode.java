package dev.unet4j.text;

/**
 * GPT-2's {@code bytes_to_unicode}: every byte gets a printable character, so BPE can work on strings without
 * whitespace or control characters. Printable Latin-1 bytes map to themselves; the other 68 bytes map, in byte
 * order, to {@code U+0100, U+0101, ...} (space {@code 0x20} becomes {@code Ġ} U+0120).
 */
final class ByteToUnicode {
    private static final char[] TABLE = build();

    private ByteToUnicode() {
    }

    private static char[] build() {
        char[] t = new char[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int next = 0;
        for (int b = 0; b < 256; b++) t[b] = printable[b] ? (char) b : (char) (256 + next++);
        return t;
    }

    /** The byte-level string of {@code utf8}: one character per byte. */
    static String encode(byte[] utf8) {
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) out[i] = TABLE[utf8[i] & 0xFF];
        return new String(out);
    }
}
