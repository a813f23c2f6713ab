// halfplane.vert: a rectangle over the plane panel's range box (uploaded once), or, for the
// decision line alone, a band along the line w3 . h2 + b3 = 0 (clipped to the box, its ends
// extended by the band's half-width; halfplane.frag cuts at the box), placed from the uniforms.
// attributes: a_h (vec2: plane coordinate h2; with u_band > 0, (along, across) in {0,1} x {-1,1})
// uniforms:   network.glsl's (u_out), u_box (vec2: the box [lo, hi]^2), u_band (float: the band's
//             half-width in plane units; 0 = a_h is a corner of the box)
// varyings:   v_h (vec2)
// hooks:      $transform
#include "network.glsl"

attribute vec2 a_h;
uniform vec2 u_box;
uniform float u_band;
varying vec2 v_h;

void main() {
    vec2 h = a_h;
    if (u_band > 0.0) {
        // The line through p0 along d, clipped to the box (Liang-Barsky); none: a band of no area.
        vec2 n = u_out.xy;
        float nn = max(dot(n, n), 1e-30);
        vec2 p0 = -u_out.z * n / nn;
        vec2 d = vec2(-n.y, n.x) / sqrt(nn);
        float t0 = -1e30;
        float t1 = 1e30;
        for (int i = 0; i < 2; i++) {
            if (abs(d[i]) > 1e-12) {
                float a = (u_box.x - p0[i]) / d[i];
                float b = (u_box.y - p0[i]) / d[i];
                t0 = max(t0, min(a, b));
                t1 = min(t1, max(a, b));
            } else if (p0[i] < u_box.x || p0[i] > u_box.y) {
                t1 = t0 - 1.0;
            }
        }
        if (t1 < t0) {
            t0 = 0.0;
            t1 = 0.0;
        }
        vec2 side = vec2(-d.y, d.x);
        h = p0 + mix(t0 - u_band, t1 + u_band, a_h.x) * d + a_h.y * u_band * side;
    }
    v_h = h;
    gl_Position = $transform(vec4(h, 0.0, 1.0));
}
