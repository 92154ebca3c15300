package dev.unet4j.quantization.nn;

import java.util.regex.Pattern;

/**
 * A glob over diffusers module paths: {@code *} matches any run of characters (dots included, so
 * {@code *.conv_shortcut} matches at any depth), {@code ?} one character, everything else itself. The whole path
 * must match.
 */
public record PathGlob(String glob) {
    public PathGlob {
        if (glob == null || glob.isEmpty()) throw new IllegalArgumentException("empty path glob");
    }

    public boolean matches(String path) {
        return matches(glob, 0, path, 0);
    }

    private static boolean matches(String g, int gi, String p, int pi) {
        while (gi < g.length()) {
            char c = g.charAt(gi);
            if (c == '*') {
                while (gi < g.length() && g.charAt(gi) == '*') gi++;
                if (gi == g.length()) return true;
                for (int k = pi; k <= p.length(); k++) if (matches(g, gi, p, k)) return true;
                return false;
            }
            if (pi >= p.length() || (c != '?' && c != p.charAt(pi))) return false;
            gi++;
            pi++;
        }
        return pi == p.length();
    }

    /** For diagnostics: the equivalent regular expression. */
    public Pattern toRegex() {
        StringBuilder sb = new StringBuilder();
        for (char c : glob.toCharArray()) sb.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
        return Pattern.compile(sb.toString());
    }

    @Override
    public String toString() {
        return glob;
    }
}
