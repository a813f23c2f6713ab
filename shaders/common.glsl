// common.glsl: antialiasing helpers for fragment shaders (included).
// functions: line_alpha(distance_px, width_px) -> coverage of a line of that width,
//            px_distance(f) -> distance in pixels from the curve f = 0

// Coverage of a line `width` pixels wide at `dist` pixels from its centre, a one-pixel ramp.
float line_alpha(float dist, float width) {
    return 1.0 - smoothstep(0.5 * width - 0.5, 0.5 * width + 0.5, dist);
}

// Distance in pixels from the curve f = 0, from f's screen-space gradient. Not fwidth(f): its
// |dx| + |dy| overstates the gradient up to sqrt(2) times on diagonals, widening lines there.
float px_distance(float f) {
    return abs(f) / max(length(vec2(dFdx(f), dFdy(f))), 1e-9);
}
