// common.glsl: antialiasing helpers for fragment shaders (included).
// functions: line_alpha(distance_px, width_px) -> coverage of a line of that width

// Coverage of a line `width` pixels wide at `dist` pixels from its centre, a one-pixel ramp.
float line_alpha(float dist, float width) {
    return 1.0 - smoothstep(0.5 * width - 0.5, 0.5 * width + 0.5, dist);
}
