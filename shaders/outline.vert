// outline.vert: the edge of the input square carried into a panel, drawn as GL lines. Lines keep
// at least a pixel of width however the network squeezes them, so a sheet pressed flat against the
// plane's box (tanh saturated: its triangles have no area left to fill) still shows where it lies.
// attributes: a_x (vec2: input coordinate on the square's edge, uploaded once)
// uniforms:   network.glsl's and anatomy.glsl's (u_stage), u_space (0 lift, 1 plane, 2 input)
// hooks:      $transform
#include "network.glsl"
#include "anatomy.glsl"

attribute vec2 a_x;
uniform float u_space;

void main() {
    gl_Position = $transform(vec4(staged_place(a_x, u_space), 1.0));
}
