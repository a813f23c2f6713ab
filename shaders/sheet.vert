// sheet.vert: the input square mapped through the network into one panel, and the network's
// values at the vertex for the fragments to interpolate: on a software rasterizer a panel's
// fragments (many times over where the sheet folds onto itself) outnumber a 128^2 mesh's vertices
// by 10-50x, so the forward pass, det J's crease function and their gradients run here, once per
// vertex; sheet.frag draws contours from the interpolated values and gradients (see v_taylor).
// attributes: a_x (vec2: input coordinate, uploaded once)
// uniforms:   network.glsl's, u_space (float: 0 lift, 1 plane, 2 input)
// varyings:   v_x (input coordinate), v_pos (panel position, for the lift's lighting),
//             v_net (vec3: z3, the signed confidence tanh(z3 / 2) = 2p - 1, the crease function F),
//             v_grads (vec4: d z3 / dx in .xy, d F / dx in .zw), v_taylor (vec2: the gradients dotted
//             with the vertex's own x, for z3 and F: with them a fragment averages the first-order
//             Taylor expansions from its triangle's corners, whose error is the opposite of linear
//             interpolation's; the mean of the two is exact for quadratics)
// hooks:      $transform (VisPy: panel coordinates -> clip space)
#include "network.glsl"

attribute vec2 a_x;
uniform float u_space;
varying vec2 v_x;
varying vec3 v_pos;
varying vec3 v_net;
varying vec4 v_grads;
varying vec2 v_taylor;

void main() {
    vec2 zx;
    float fold;
    vec2 fx;
    float z = evaluate(a_x, zx, fold, fx);
    float e = exp(-abs(z));
    v_net = vec3(z, sign(z) * (1.0 - e) / (1.0 + e), fold);
    v_grads = vec4(zx, fx);
    v_taylor = vec2(dot(zx, a_x), dot(fx, a_x));
    v_x = a_x;
    v_pos = place(a_x, u_space);
    gl_Position = $transform(vec4(v_pos, 1.0));
}
