package dev.unet4j.text;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The text clean-up {@code CLIPTokenizer} does when {@code ftfy} is not installed: transformers'
 * {@code BasicTokenizer(strip_accents=False, do_split_on_punc=False)}, then {@code " ".join(words).lower()}.
 * <ol>
 *   <li>drop U+0000, U+FFFD and every character of Unicode category {@code C*} except tab, newline and carriage
 *       return (zero-width joiners, soft hyphens, BOMs and unpaired surrogates vanish);</li>
 *   <li>whitespace (tab, newline, carriage return, space, category {@code Zs}) becomes a space;</li>
 *   <li>spaces around CJK ideographs;</li>
 *   <li>NFC;</li>
 *   <li>split like Python's {@code str.split()}: after steps 1-2 the only whitespace left is the space and
 *       U+2028/U+2029 (categories Zl, Zp);</li>
 *   <li>full Unicode lower-casing of each word ({@code İ} becomes {@code i} + U+0307, final sigma), no accent
 *       stripping, no punctuation split; words joined by single spaces.</li>
 * </ol>
 */
final class BasicTokenizer {
    private BasicTokenizer() {
    }

    static String normalize(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) continue;
            if (isWhitespace(cp)) {
                sb.append(' ');
            } else if (isCjkIdeograph(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        }
        String nfc = Normalizer.normalize(sb, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder(nfc.length());
        int start = -1;
        for (int i = 0; i <= nfc.length(); i++) {
            boolean split = i == nfc.length() || isSplitSpace(nfc.charAt(i));
            if (!split) {
                if (start < 0) start = i;
            } else if (start >= 0) {
                if (out.length() > 0) out.append(' ');
                out.append(nfc.substring(start, i).toLowerCase(Locale.ROOT));
                start = -1;
            }
        }
        return out.toString();
    }

    /** {@code _is_control}: category C* except {@code \t \n \r}. */
    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.PRIVATE_USE
                || t == Character.SURROGATE || t == Character.UNASSIGNED;
    }

    /** {@code _is_whitespace}: space, tab, newline, carriage return, category Zs. */
    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    /** What Python's {@code str.split()} still splits on after cleaning (all other whitespace became a space). */
    private static boolean isSplitSpace(char c) {
        return c == ' ' || c == '\u2028' || c == '\u2029';
    }

    /** {@code _is_chinese_char}: the CJK Unified Ideographs blocks and their extensions, and compatibility ideographs. */
    static boolean isCjkIdeograph(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
