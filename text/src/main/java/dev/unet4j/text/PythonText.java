package dev.unet4j.text;

/** Python {@code str} whitespace rules ({@code str.isspace}, {@code strip}), which differ from Java's. */
final class PythonText {
    private PythonText() {
    }

    /** {@code str.isspace()} for one code point: bidirectional class WS, B or S, or category Zs. */
    static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85
                || cp == 0x2028 || cp == 0x2029 || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    static String lstrip(String s) {
        int i = 0;
        while (i < s.length() && isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
        return s.substring(i);
    }

    static String rstrip(String s) {
        int i = s.length();
        while (i > 0 && isSpace(s.codePointBefore(i))) i -= Character.charCount(s.codePointBefore(i));
        return s.substring(0, i);
    }
}
