// halfplane.frag: the decision line w3 . h2 + b3 = 0 in the plane, and the two half-planes
// faintly tinted by the class they predict, as strongly as the network is confident there
// (|2p - 1|: no tint on the line, so the tint fades through neutral as the line sweeps by). Exact
// per fragment: the line is clipped to the panel by construction and antialiased from z's
// screen-space gradient.
// uniforms: network.glsl's (u_out), u_class0 / u_class1 (vec4: fills, alpha = the strongest),
//           u_line (vec4: rgb, width px in .a; width 0 = no line), u_box (vec2: the box
//           [lo, hi]^2, where a band along the line ends)
// varyings: v_h (plane coordinate)
#include "network.glsl"
#include "common.glsl"

uniform vec4 u_class0;
uniform vec4 u_class1;
uniform vec4 u_line;
uniform vec2 u_box;
varying vec2 v_h;

void main() {
    if (any(lessThan(v_h, vec2(u_box.x))) || any(greaterThan(v_h, vec2(u_box.y)))) discard;
    float z = logit(v_h);
    vec4 fill = z > 0.0 ? u_class1 : u_class0;
    float e = exp(-abs(z));
    fill.a *= (1.0 - e) / (1.0 + e);
    float line = line_alpha(px_distance(z), u_line.a);
    float alpha = max(fill.a * (1.0 - line), line);
    if (alpha <= 0.0) discard;
    gl_FragColor = vec4(mix(fill.rgb, u_line.rgb, line / alpha), alpha);
}
