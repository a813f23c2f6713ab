// surface.vert: the exact decision surface in the lift (k = 3), built on the GPU from uniforms.
// For h2 on the decision line, W2 h1 = act^-1(h2) - b2 is a line in R^3 along W2's null space;
// a_st.x picks the point on the decision segment, a_st.y the point along that line clipped to
// act's range box (Liang-Barsky). geometry.decision_surface is the numpy twin.
// attributes: a_st (vec2 in [0, 1]^2, uploaded once)
// uniforms:   network.glsl's, u_seg (vec4: the decision segment's ends in the plane, p0.xy p1.xy),
//             u_pinv (mat4: pinv(W2), 3 x 2, padded), u_null (vec4: unit null direction of W2),
//             u_box (vec2: act's range, lo and hi)
// varyings:   v_pos (lift position), v_keep (1 where the line meets the box)
// hooks:      $transform
#include "network.glsl"

attribute vec2 a_st;
uniform vec4 u_seg;
uniform mat4 u_pinv;
uniform vec4 u_null;
uniform vec2 u_box;
varying vec3 v_pos;
varying float v_keep;

vec2 act_inverse(vec2 h) {
    if (u_act < 0.5) return 0.5 * log((1.0 + h) / (1.0 - h));
    return log(h / (1.0 - h));
}

void main() {
    float s = 0.5 - 0.5 * cos(3.14159265 * a_st.x);  // densest near the range's ends
    vec2 h2 = mix(u_seg.xy, u_seg.zw, s);
    vec3 base = (u_pinv * vec4(act_inverse(h2) - u_b2.xy, 0.0, 0.0)).xyz;
    float s0 = -1e9;
    float s1 = 1e9;
    for (int i = 0; i < 3; i++) {
        float v = u_null[i];
        float p = base[i];
        if (abs(v) > 1e-9) {
            float t0 = (u_box.x - p) / v;
            float t1 = (u_box.y - p) / v;
            s0 = max(s0, min(t0, t1));
            s1 = min(s1, max(t0, t1));
        } else if (p < u_box.x || p > u_box.y) {
            s1 = s0 - 1.0;
        }
    }
    v_keep = s1 > s0 ? 1.0 : 0.0;
    vec3 h1 = base + (v_keep > 0.5 ? mix(s0, s1, a_st.y) : 0.0) * u_null.xyz;
    v_pos = lift_view(vec4(h1, 0.0));
    gl_Position = $transform(vec4(v_pos, 1.0));
}
